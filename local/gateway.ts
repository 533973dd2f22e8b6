/**
 * The one AWS endpoint of the local cloud: proxies to moto, routes CodeBuild to the local build
 * service, serves build logs, and corrects the ECR answers that would point a
 * user at AWS (repositoryUri, proxyEndpoint) or that moto gets wrong (sizes, pull times).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { forward, listen, readBody } from './http.ts';

/** A CodeBuild service as local/codebuild exports it. */
export interface CodeBuildHandler {
  handle(operation: string, input: unknown): Promise<unknown>;
  logUrl(buildId: string): string;
  /** Optional: the log text of a build, for GET /_local/builds/<id>/log. */
  readLog?(buildId: string): Promise<string | undefined> | string | undefined;
  stop(): Promise<void>;
}

/** The local functions, as local/invoker.ts runs them (moto runs no Lambda without Docker). */
export interface LambdaHandler {
  /** Whether a function of this name (or template key) is deployed. */
  has(name: string): boolean;
  invoke(name: string, event: unknown): Promise<unknown>;
  invokeAsync(name: string, event: unknown): Promise<void>;
}

/** Called after moto answered an ECR JSON call; returns the answer the client gets. */
export type EcrHook = (
  operation: string,
  input: Record<string, unknown>,
  output: unknown,
) => Promise<unknown>;

export interface GatewayOptions {
  port: number;
  motoPort: number;
  region: string;
  registry: string;
  ecrHook?: EcrHook;
  codebuild?: () => CodeBuildHandler | undefined;
  lambda?: () => LambdaHandler | undefined;
  log: (line: string) => void;
}

const ECR_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
const CODEBUILD_PREFIX = 'CodeBuild_20161006.';

/** Rewrites the AWS registry host ECR answers carry to the local registry host. */
export function rewriteEcrHosts(body: string, region: string, registry: string): string {
  const awsHost = new RegExp(
    `(https://)?(\\d{12})\\.dkr\\.ecr\\.${region.replace(/-/g, '\\-')}\\.amazonaws\\.com`,
    'g',
  );
  return body.replace(awsHost, (_match, scheme: string | undefined) =>
    scheme ? `http://${registry}` : registry,
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
  });
  res.end(text);
}

/** Starts the gateway; resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<Server> {
  const { motoPort, region, registry, log } = options;

  const toMoto = (
    req: IncomingMessage,
    res: ServerResponse,
    body?: Buffer,
    transform?: (b: Buffer) => Promise<Buffer>,
  ) =>
    forward(motoPort, req, res, {
      body,
      onAnswer: (answer) => {
        if (!transform || (answer.statusCode ?? 500) >= 300) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        readBody(answer)
          .then(transform)
          .then((out) => {
            const outHeaders = { ...answer.headers, 'content-length': String(out.length) };
            delete outHeaders['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 200, outHeaders);
            res.end(out);
          })
          .catch((error: unknown) => {
            log(`gateway: correcting an ECR answer failed: ${String(error)}`);
            if (!res.headersSent) sendJson(res, 500, { __type: 'ServerException', message: String(error) });
          });
      },
      onUnreachable: (error) => sendJson(res, 502, { __type: 'ServiceUnavailable', message: error.message }),
    });

  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const url = req.url ?? '/';
    const logRoute = /^\/_local\/builds\/([^/]+)\/log$/.exec(url);
    if (logRoute && req.method === 'GET') {
      const service = options.codebuild?.();
      const id = decodeURIComponent(logRoute[1] ?? '');
      Promise.resolve(service?.readLog?.(id))
        .then((text) => {
          if (text === undefined) {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end(`no log for build ${id}\n`);
          } else {
            res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
            res.end(text);
          }
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        });
      return;
    }

    const invokeRoute = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?.*)?$/.exec(url);
    const lambda = invokeRoute && req.method === 'POST' ? options.lambda?.() : undefined;
    if (invokeRoute && lambda) {
      invokeLocally(lambda, decodeURIComponent(invokeRoute[1] ?? ''), req, res, log);
      return;
    }

    const codebuild = target.startsWith(CODEBUILD_PREFIX) ? options.codebuild?.() : undefined;
    if (codebuild) {
      const operation = target.slice(CODEBUILD_PREFIX.length);
      readBody(req)
        .then((body) => codebuild.handle(operation, body.length > 0 ? JSON.parse(body.toString('utf8')) : {}))
        .then((output) => sendJson(res, 200, output ?? {}))
        .catch((error: unknown) => {
          const e = error as { name?: string; message?: string; $fault?: string };
          const known = e?.name && e.name !== 'Error' && e.name !== 'TypeError';
          if (!known) log(`gateway: CodeBuild ${operation} failed: ${String(error)}`);
          sendJson(res, known ? 400 : 500, {
            __type: known ? e.name : 'InternalFailure',
            message: e?.message ?? String(error),
          });
        });
      return;
    }

    if (target.startsWith(ECR_PREFIX)) {
      const operation = target.slice(ECR_PREFIX.length);
      readBody(req)
        .then((body) => {
          let input: Record<string, unknown> = {};
          try {
            input = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
          } catch {
            // moto answers the malformed request itself
          }
          toMoto(req, res, body, async (answer) => {
            const text = rewriteEcrHosts(answer.toString('utf8'), region, registry);
            let output: unknown = text.length > 0 ? JSON.parse(text) : {};
            if (options.ecrHook) output = await options.ecrHook(operation, input, output);
            return Buffer.from(JSON.stringify(output));
          });
        })
        .catch((error: unknown) => sendJson(res, 500, { __type: 'ServerException', message: String(error) }));
      return;
    }

    toMoto(req, res);
  });
  server.keepAliveTimeout = 1000;
  await listen(server, options.port);
  return server;
}

/**
 * Lambda's Invoke (`POST /2015-03-31/functions/<name>/invocations`) on a local function:
 * `X-Amz-Invocation-Type: Event` answers 202 at once and runs it as S3 and EventBridge would
 * (retries, on-failure destination); otherwise it answers the handler's result, or its error with
 * `X-Amz-Function-Error: Unhandled`, as Lambda does.
 */
function invokeLocally(
  lambda: LambdaHandler,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
  log: (line: string) => void,
): void {
  readBody(req)
    .then(async (body) => {
      if (!lambda.has(name)) {
        res.writeHead(404, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ResourceNotFoundException',
        });
        res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
        return;
      }
      const event: unknown = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
      if (String(req.headers['x-amz-invocation-type'] ?? '') === 'Event') {
        lambda
          .invokeAsync(name, event)
          .catch((error: unknown) => log(`gateway: invoking ${name}: ${String(error)}`));
        res.writeHead(202, { 'content-length': '0', 'x-amzn-requestid': crypto.randomUUID() });
        res.end();
        return;
      }
      try {
        const result = await lambda.invoke(name, event);
        const text = JSON.stringify(result ?? null);
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
        res.end(text);
      } catch (error) {
        const e = error as { errorType?: string; name?: string; message?: string };
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
        res.end(
          JSON.stringify({
            errorType: e.errorType ?? e.name ?? 'Error',
            errorMessage: e.message ?? String(error),
          }),
        );
      }
    })
    .catch((error: unknown) => {
      if (res.headersSent) return;
      res.writeHead(400, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'InvalidRequestContentException',
      });
      res.end(JSON.stringify({ Type: 'User', message: String(error) }));
    });
}
