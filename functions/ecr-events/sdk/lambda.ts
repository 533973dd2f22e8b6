/** The Lambda client for the in-use check, for a dynamic import() that bundles only it (in-use.ts imports the commands). */
export { LambdaClient } from '@aws-sdk/client-lambda';
