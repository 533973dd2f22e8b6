/** What the build log excerpt needs of CloudWatch Logs, for a dynamic import() (see clients.ts). */
export { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
