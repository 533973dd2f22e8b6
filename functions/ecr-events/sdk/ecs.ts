/** The ECS client for the in-use check, for a dynamic import() that bundles only it (in-use.ts imports the commands). */
export { ECSClient } from '@aws-sdk/client-ecs';
