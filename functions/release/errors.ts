/** Errors of the release function: transient (thrown, Lambda retries) or permanent (reported). */
export { classify, errorName, PermanentError, TransientError } from '../shared/errors.ts';
