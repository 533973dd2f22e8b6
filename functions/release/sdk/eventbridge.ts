/** What the verdicts need of EventBridge; named exports tree-shake the package's other commands. */
export { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
