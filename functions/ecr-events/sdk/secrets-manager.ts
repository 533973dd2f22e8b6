/** What the webhook secret needs of Secrets Manager, for a dynamic import() that bundles only these. */
export { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
export { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
