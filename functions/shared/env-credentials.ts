/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (scripts/build.mjs aliases
 * it): Lambda hands a function its role's credentials in environment variables, so the default chain's
 * SSO, INI, process, web-identity and instance-metadata providers (~80 KB) are dead weight there.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** Same signature as the default chain's `defaultProvider`; reads AWS_ACCESS_KEY_ID and friends. */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
