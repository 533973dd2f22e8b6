/** What the webhook secret needs of SSM, for a dynamic import() that bundles only these (see clients.ts). */
export { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
