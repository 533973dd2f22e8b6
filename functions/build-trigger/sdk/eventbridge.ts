/**
 * What the rejection path needs of EventBridge, loaded with a dynamic import(): a namespace import
 * of the package itself would bundle all of its commands into the chunk, these names tree-shake.
 */
export { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
