/** What the webhook secret needs of Secrets Manager, for a dynamic import() that bundles only these. */
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
