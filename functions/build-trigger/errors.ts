/** Errors of the build-trigger function: transient (thrown, Lambda retries) or permanent (reported). */
export { classify, errorName, isTransient, PermanentError, TransientError } from '../shared/errors.ts';
