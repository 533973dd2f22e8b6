// One warm "container" of a function: imports the bundled handler with the function's own
// environment (the Worker's env) and runs the invocations the invoker posts to it.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { file, exportName, functionName, memorySize, logGroupName, accountId } = workerData;

let handler;
let initError;
try {
  const mod = await import(pathToFileURL(file).href);
  handler = mod[exportName];
  if (typeof handler !== 'function')
    throw new Error(`${file} does not export a function named ${exportName}`);
} catch (error) {
  initError = error;
}

const describe = (error) => ({
  errorType: error?.name ?? 'Error',
  errorMessage: error?.message ?? String(error),
  stack: typeof error?.stack === 'string' ? error.stack.split('\n') : [],
});

parentPort.on('message', async ({ id, event, deadline, requestId }) => {
  if (initError) {
    parentPort.postMessage({ id, ok: false, init: true, error: describe(initError) });
    return;
  }
  const context = {
    awsRequestId: requestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:${accountId}:function:${functionName}`,
    memoryLimitInMB: String(memorySize),
    logGroupName,
    logStreamName: `${new Date().toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]local`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const result = await handler(event, context);
    parentPort.postMessage({
      id,
      ok: true,
      result: result === undefined ? undefined : JSON.parse(JSON.stringify(result)),
    });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: describe(error) });
  }
});
parentPort.postMessage({ ready: true });
