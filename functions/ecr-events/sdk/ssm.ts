/** What the webhook secret needs of SSM, for a dynamic import() that bundles only these (see clients.ts). */
export { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
export { SSMClient } from '@aws-sdk/client-ssm';
