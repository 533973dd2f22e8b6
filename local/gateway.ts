/**
 * The one AWS endpoint of the local cloud: authorizes each request with the local IAM (local/iam/:
 * a role's request that IAM would deny is answered as the service answers a denial), proxies to
 * moto, routes CodeBuild to the local build service, serves build logs, and corrects the ECR
 * answers that would point a user at AWS (repositoryUri, proxyEndpoint) or that moto gets wrong
 * (sizes, pull times).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { forward, listen, readBody } from './http.ts';
import type { Denial } from './iam/authorizer.ts';
import { sendDenial } from './iam/denial.ts';
import { type ApiRequest, accessKeyIdOf } from './iam/request.ts';

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
  /** GetFunctionConfiguration's answer for a deployed function, or undefined. */
  configuration?(name: string): unknown;
}

/**
 * Called after moto answered an ECR JSON call; returns the answer the client gets. An error with an
 * `errorType` (e.g. `LayersNotFoundException`) is answered as ECR answers that error.
 */
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
  /**
   * Answers an ECR call moto does not implement (managed signing), or undefined for moto to serve. An
   * error with an `errorType` is answered as ECR answers that error.
   */
  ecrServe?: (operation: string, input: Record<string, unknown>) => unknown;
  codebuild?: () => CodeBuildHandler | undefined;
  lambda?: () => LambdaHandler | undefined;
  /** IAM of the local cloud (local/iam/): authorizes each request before it is served. */
  iam?: GatewayIam;
  log: (line: string) => void;
}

/** What the gateway asks of the IAM layer. */
export interface GatewayIam {
  /** The denial of a request its caller may not make, or undefined. */
  authorize(request: ApiRequest): Promise<Denial | undefined>;
  /** GetAuthorizationToken's answer with a registry token that names the caller. */
  registryToken(output: unknown, accessKeyId: string | undefined): unknown;
  /** An ECR call moto answered successfully (the IAM layer forgets tags it may have changed). */
  ecrAnswered(operation: string, input: Record<string, unknown>): void;
  /** IAM SimulatePrincipalPolicy of a role the stack defines: the answer (XML), or undefined for moto. */
  simulatePrincipalPolicy?(form: URLSearchParams): Promise<{ status: number; body: string } | undefined>;
  /** STS AssumeRole of a role the stack defines: the answer (XML), or undefined for moto to serve. */
  assumeRole?(
    accessKeyId: string | undefined,
    form: URLSearchParams,
  ): { status: number; body: string } | undefined;
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
  const { motoPort, log } = options;

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
            const refusal = error as { errorType?: unknown; message?: string };
            if (typeof refusal.errorType === 'string') {
              if (!res.headersSent)
                sendJson(res, 400, { __type: refusal.errorType, message: refusal.message ?? '' });
              return;
            }
            log(`gateway: correcting an ECR answer failed: ${String(error)}`);
            if (!res.headersSent) sendJson(res, 500, { __type: 'ServerException', message: String(error) });
          });
      },
      onUnreachable: (error) => sendJson(res, 502, { __type: 'ServiceUnavailable', message: error.message }),
    });

  const server = createServer((req, res) => {
    if (serveBuildLog(options, req, res)) return;
    // The JSON and query protocols are authorized by their body; S3 and Lambda by their path.
    const wantsBody =
      req.headers['x-amz-target'] !== undefined ||
      String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    (wantsBody ? readBody(req) : Promise.resolve(undefined))
      .then(async (body) => {
        const request: ApiRequest = {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body,
        };
        const denial = await options.iam?.authorize(request);
        if (denial) {
          sendDenial(request, res, denial);
          return;
        }
        route({ options, toMoto, req, res, body, log });
      })
      .catch((error: unknown) => {
        log(`gateway: ${req.method} ${req.url} failed: ${String(error)}`);
        if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message: String(error) });
      });
  });
  server.keepAliveTimeout = 1000;
  await listen(server, options.port);
  return server;
}

type ToMoto = (
  req: IncomingMessage,
  res: ServerResponse,
  body?: Buffer,
  transform?: (b: Buffer) => Promise<Buffer>,
) => void;

/** GET /_local/builds/<id>/log: a build's log from the local CodeBuild; true when it was that route. */
function serveBuildLog(options: GatewayOptions, req: IncomingMessage, res: ServerResponse): boolean {
  const logRoute = /^\/_local\/builds\/([^/]+)\/log$/.exec(req.url ?? '/');
  if (!logRoute || req.method !== 'GET') return false;
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
  return true;
}

interface Routing {
  options: GatewayOptions;
  toMoto: ToMoto;
  req: IncomingMessage;
  res: ServerResponse;
  /** The body, when the gateway read it to authorize the request. */
  body: Buffer | undefined;
  log: (line: string) => void;
}

/** An authorized request to where it is served: the local Lambda, the local CodeBuild, or moto. */
function route(routing: Routing): void {
  const { options, toMoto, req, res, body, log } = routing;
  const bodyOf = () => (body ? Promise.resolve(body) : readBody(req));
  const target = String(req.headers['x-amz-target'] ?? '');
  const invokeRoute = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?.*)?$/.exec(req.url ?? '/');
  const lambda = invokeRoute && req.method === 'POST' ? options.lambda?.() : undefined;
  if (invokeRoute && lambda) {
    invokeLocally(lambda, decodeURIComponent(invokeRoute[1] ?? ''), bodyOf(), res, req, log);
    return;
  }
  if (serveFunctionConfiguration(options, req, res)) return;
  const codebuild = target.startsWith(CODEBUILD_PREFIX) ? options.codebuild?.() : undefined;
  if (codebuild) {
    serveCodeBuild(codebuild, target.slice(CODEBUILD_PREFIX.length), bodyOf(), res, log);
    return;
  }
  if (target.startsWith(ECR_PREFIX)) {
    serveEcr(routing, target.slice(ECR_PREFIX.length), bodyOf());
    return;
  }
  if (body && serveAssumeRole(routing, body)) return;
  if (body && new URLSearchParams(body.toString('utf8')).get('Action') === 'SimulatePrincipalPolicy') {
    serveSimulation(routing, body);
    return;
  }
  toMoto(req, res, body);
}

/** Lambda's GetFunctionConfiguration of a local function (moto has none of them); true when it answered. */
function serveFunctionConfiguration(options: GatewayOptions, req: IncomingMessage, res: ServerResponse) {
  const route = /^\/2015-03-31\/functions\/([^/?]+)\/configuration(?:\?.*)?$/.exec(req.url ?? '/');
  const lambda = options.lambda?.();
  if (!route || req.method !== 'GET' || !lambda?.configuration) return false;
  const name = decodeURIComponent(route[1] ?? '');
  const configuration = lambda.configuration(name);
  if (configuration === undefined) {
    res.writeHead(404, {
      'content-type': 'application/json',
      'x-amzn-errortype': 'ResourceNotFoundException',
    });
    res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(configuration));
  }
  return true;
}

/** IAM SimulatePrincipalPolicy, answered by the local IAM for the stack's roles, else by moto. */
function serveSimulation(routing: Routing, body: Buffer): void {
  const { options, req, res, toMoto } = routing;
  const simulate = options.iam?.simulatePrincipalPolicy;
  if (!simulate) {
    toMoto(req, res, body);
    return;
  }
  simulate
    .call(options.iam, new URLSearchParams(body.toString('utf8')))
    .then((answer) => {
      if (!answer) {
        toMoto(req, res, body);
        return;
      }
      res.writeHead(answer.status, {
        'content-type': 'text/xml',
        'content-length': String(Buffer.byteLength(answer.body)),
      });
      res.end(answer.body);
    })
    .catch((error: unknown) => sendJson(res, 500, { __type: 'ServiceFailure', message: String(error) }));
}

/** STS AssumeRole answered by the local IAM when it knows the role; true when it answered. */
function serveAssumeRole(routing: Routing, body: Buffer): boolean {
  const { options, req, res } = routing;
  if (!options.iam?.assumeRole) return false;
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('Action') !== 'AssumeRole') return false;
  const answer = options.iam.assumeRole(accessKeyIdOf({ headers: req.headers, url: req.url ?? '/' }), form);
  if (!answer) return false;
  res.writeHead(answer.status, {
    'content-type': 'text/xml',
    'content-length': String(Buffer.byteLength(answer.body)),
  });
  res.end(answer.body);
  return true;
}

function serveCodeBuild(
  codebuild: CodeBuildHandler,
  operation: string,
  body: Promise<Buffer>,
  res: ServerResponse,
  log: (line: string) => void,
): void {
  body
    .then((b) => codebuild.handle(operation, b.length > 0 ? JSON.parse(b.toString('utf8')) : {}))
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
}

/**
 * ECR through moto, its answer corrected (hosts, the registry front's hook); GetAuthorizationToken's
 * token replaced by one that names the caller, when the IAM layer issues them.
 */
function serveEcr(routing: Routing, operation: string, body: Promise<Buffer>): void {
  const { options, toMoto, req, res } = routing;
  const caller = accessKeyIdOf({ headers: req.headers, url: req.url ?? '/' });
  body
    .then((b) => {
      let input: Record<string, unknown> = {};
      try {
        input = b.length > 0 ? (JSON.parse(b.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        // moto answers the malformed request itself
      }
      if (serveLocally(options, operation, input, res)) return;
      toMoto(req, res, b, async (answer) => {
        const text = rewriteEcrHosts(answer.toString('utf8'), options.region, options.registry);
        let output: unknown = text.length > 0 ? JSON.parse(text) : {};
        options.iam?.ecrAnswered(operation, input);
        if (options.ecrHook) output = await options.ecrHook(operation, input, output);
        if (operation === 'GetAuthorizationToken' && options.iam)
          output = options.iam.registryToken(output, caller);
        return Buffer.from(JSON.stringify(output));
      });
    })
    .catch((error: unknown) => sendJson(res, 500, { __type: 'ServerException', message: String(error) }));
}

/** An ECR call the local cloud answers itself (ecrServe); true when it did. */
function serveLocally(
  options: GatewayOptions,
  operation: string,
  input: Record<string, unknown>,
  res: ServerResponse,
): boolean {
  let answer: unknown;
  try {
    answer = options.ecrServe?.(operation, input);
  } catch (error) {
    const refusal = error as { errorType?: unknown; message?: string };
    if (typeof refusal.errorType !== 'string') throw error;
    sendJson(res, 400, { __type: refusal.errorType, message: refusal.message ?? '' });
    return true;
  }
  if (answer === undefined) return false;
  sendJson(res, 200, answer);
  return true;
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
  bodyRead: Promise<Buffer>,
  res: ServerResponse,
  req: IncomingMessage,
  log: (line: string) => void,
): void {
  bodyRead
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
