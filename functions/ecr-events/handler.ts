import type { EventBridgeEvent } from 'aws-lambda';

/** Placeholder entry point; replaced by the ecr-events implementation. */
export const handler = async (event: EventBridgeEvent<string, unknown>): Promise<void> => {
  console.log(JSON.stringify({ detailType: event['detail-type'] }));
};
