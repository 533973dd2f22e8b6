/**
 * Runs the bundled handlers as Lambda would: each function in its own worker thread with its own
 * environment and a Lambda-like context; asynchronous invocations retried twice with a delay, then
 * kept in an on-failure record (in memory and as a JSON file in the data folder).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ACCOUNT_ID, DEFAULT_REGION } from '../shared/local-cloud.ts';

export interface FunctionSpec {
  /** The serverless key: buildTrigger, ecrEvents. */
  key: string;
  /** The deployed name, e.g. ecr-pipeline-dev-buildTrigger. */
  functionName: string;
  file: string;
  exportName: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  memorySize: number;
  /** Retries of an asynchronous invocation (Lambda's default is 2). */
  maximumRetryAttempts: number;
  /** ARN of the on-failure destination (an SQS queue or SNS topic of the stack), if any. */
  onFailure?: string;
  /** The execution role's ARN and the template's environment variables: GetFunctionConfiguration's. */
  role?: string;
  variables?: Record<string, string>;
}

export interface FailureRecord {
  functionName: string;
  event: unknown;
  error: string;
  attempts: number;
}

/** One run of a handler, kept for tests and for `npm start`'s readers. */
export interface InvocationRecord {
  functionName: string;
  requestId: string;
  startedAt: string;
  event: unknown;
  /** When the handler returned or threw (epoch ms). */
  endedAtMs?: number;
  result?: unknown;
  error?: string;
}

export class InvocationError extends Error {
  override name = 'InvocationError';
  constructor(
    message: string,
    readonly errorType: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** One warm container: a worker thread that has imported the handler. */
class Container {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  busy = false;
  dead = false;
  private next = 0;

  constructor(spec: FunctionSpec, logLine: (line: string) => void) {
    this.worker = new Worker(new URL('./lambda-worker.mjs', import.meta.url), {
      env: spec.env,
      workerData: {
        file: spec.file,
        exportName: spec.exportName,
        functionName: spec.functionName,
        memorySize: spec.memorySize,
        logGroupName: `/aws/lambda/${spec.functionName}`,
        accountId: ACCOUNT_ID,
      },
      stdout: true,
      stderr: true,
      // The function's memory size bounds its heap, as Lambda bounds the whole sandbox.
      resourceLimits: { maxOldGenerationSizeMb: spec.memorySize },
    });
    for (const stream of [this.worker.stdout, this.worker.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.length > 0) logLine(line);
      });
    }
    this.worker.on(
      'message',
      (message: {
        id?: number;
        ok?: boolean;
        result?: unknown;
        error?: { errorType: string; errorMessage: string };
        init?: boolean;
      }) => {
        if (message.id === undefined) return;
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.ok) pending.resolve(message.result);
        else {
          if (message.init) this.dead = true; // Lambda discards an environment whose init failed
          const type = message.init
            ? `Runtime.InitError: ${message.error?.errorType}`
            : (message.error?.errorType ?? 'Error');
          pending.reject(new InvocationError(message.error?.errorMessage ?? 'failed', type));
        }
      },
    );
    this.worker.on('error', (error) => {
      this.dead = true;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    });
    this.worker.on('exit', () => {
      this.dead = true;
      for (const pending of this.pending.values())
        pending.reject(new InvocationError('the container exited', 'Runtime.ExitError'));
      this.pending.clear();
    });
  }

  run(event: unknown, deadline: number, requestId: string): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, event, deadline, requestId });
    });
  }
}

export interface InvokerOptions {
  dataDir: string;
  /** Delays before the first and second retry (Lambda: about 1 and 2 minutes). */
  retryDelaysMs?: number[];
  /**
   * Sends an on-failure record to the function's destination, as Lambda does with the function's
   * execution role (`functionKey` names the function whose role sends it).
   */
  sendToDestination?: (destinationArn: string, record: unknown, functionKey: string) => Promise<void>;
  log: (line: string) => void;
}

export class Invoker {
  readonly failures: FailureRecord[] = [];
  readonly invocations: InvocationRecord[] = [];
  private readonly functions = new Map<string, FunctionSpec>();
  private readonly containers = new Map<string, Container[]>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly retryDelaysMs: number[];
  private stopped = false;
  /** Wakes the asynchronous invocations waiting to retry, so that stop() need not wait out the delay. */
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly options: InvokerOptions) {
    this.retryDelaysMs = options.retryDelaysMs ?? [1000, 2000];
    mkdirSync(join(options.dataDir, 'failures'), { recursive: true });
    mkdirSync(join(options.dataDir, 'logs'), { recursive: true });
  }

  register(spec: FunctionSpec): void {
    this.functions.set(spec.key, spec);
  }

  spec(key: string): FunctionSpec {
    const spec = this.functions.get(key) ?? [...this.functions.values()].find((f) => f.functionName === key);
    if (!spec)
      throw new Error(`no function ${key} in the template (known: ${[...this.functions.keys()].join(', ')})`);
    return spec;
  }

  /** Whether a function of this template key or name is registered. */
  has(name: string): boolean {
    return this.functions.has(name) || [...this.functions.values()].some((f) => f.functionName === name);
  }

  /** Lambda's GetFunctionConfiguration answer for a function of this name or key, or undefined. */
  configuration(name: string): unknown {
    if (!this.has(name)) return undefined;
    const spec = this.spec(name);
    return {
      FunctionName: spec.functionName,
      Role: spec.role,
      Timeout: spec.timeoutSeconds,
      MemorySize: spec.memorySize,
      Environment: { Variables: spec.variables ?? {} },
    };
  }

  keys(): string[] {
    return [...this.functions.keys()];
  }

  private logLine(spec: FunctionSpec, line: string): void {
    appendFileSync(join(this.options.dataDir, 'logs', `${spec.key}.log`), `${line}\n`);
    this.options.log(`[${spec.key}] ${line}`);
  }

  /**
   * A synchronous (RequestResponse) invocation: resolves with the handler's result or rejects with its
   * error. `requestId` is given by the retries of an asynchronous invocation, which keep it as Lambda does.
   */
  async invoke(key: string, event: unknown, requestId: string = crypto.randomUUID()): Promise<unknown> {
    const spec = this.spec(key);
    if (this.stopped) throw new InvocationError('the local cloud has stopped', 'Runtime.Stopped');
    const pool = this.containers.get(spec.key) ?? [];
    this.containers.set(spec.key, pool);
    let container = pool.find((c) => !c.busy && !c.dead);
    if (!container) {
      container = new Container(spec, (line) => this.logLine(spec, line));
      pool.push(container);
    }
    container.busy = true;
    const deadline = Date.now() + spec.timeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new InvocationError(
            `Task timed out after ${spec.timeoutSeconds.toFixed(2)} seconds`,
            'Sandbox.Timedout',
          ),
        );
      }, spec.timeoutSeconds * 1000);
    });
    const current = container;
    const record: InvocationRecord = {
      functionName: spec.key,
      requestId,
      startedAt: new Date().toISOString(),
      event,
    };
    this.invocations.push(record);
    try {
      const result = await Promise.race([current.run(event, deadline, requestId), timeout]);
      record.endedAtMs = Date.now();
      record.result = result;
      return result;
    } catch (error) {
      const e = error as InvocationError;
      record.endedAtMs = Date.now();
      record.error = `${e.errorType ?? e.name}: ${e.message}`;
      if (error instanceof InvocationError && error.errorType === 'Sandbox.Timedout') {
        current.dead = true;
        await current.worker.terminate();
      }
      throw error;
    } finally {
      clearTimeout(timer);
      current.busy = false;
      if (current.dead) {
        pool.splice(pool.indexOf(current), 1);
        await current.worker.terminate();
      }
    }
  }

  /**
   * An asynchronous (Event) invocation, as S3 and EventBridge make: retried with a delay, then kept
   * in the on-failure record. Resolves when the last attempt is over.
   */
  invokeAsync(key: string, event: unknown): Promise<void> {
    const run = this.runAsync(key, event);
    this.inFlight.add(run);
    return run.finally(() => this.inFlight.delete(run));
  }

  private async runAsync(key: string, event: unknown): Promise<void> {
    const spec = this.spec(key);
    // Lambda's retries of one event keep its request id (the build-trigger's claims rely on it).
    const requestId = crypto.randomUUID();
    let attempts = 0;
    let lastError = '';
    for (;;) {
      attempts++;
      try {
        await this.invoke(key, event, requestId);
        return;
      } catch (error) {
        const e = error as InvocationError;
        lastError = `${e.errorType ?? e.name}: ${e.message}`;
        this.options.log(`[${spec.key}] attempt ${attempts} failed: ${lastError}`);
      }
      if (attempts > spec.maximumRetryAttempts || this.stopped) break;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, this.retryDelaysMs[attempts - 1] ?? this.retryDelaysMs.at(-1) ?? 1000);
        this.sleepers.add(wake);
      });
      if (this.stopped) break;
    }
    const record: FailureRecord = { functionName: spec.key, event, error: lastError, attempts };
    this.failures.push(record);
    const file = join(
      this.options.dataDir,
      'failures',
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${spec.key}.json`,
    );
    // The shape of an asynchronous invocation record sent to an on-failure destination.
    const destinationRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: crypto.randomUUID(),
        functionArn: `arn:aws:lambda:${spec.env.AWS_REGION ?? DEFAULT_REGION}:${ACCOUNT_ID}:function:${spec.functionName}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: lastError.split(':')[0], errorMessage: lastError },
    };
    writeFileSync(file, JSON.stringify(destinationRecord, null, 2));
    if (spec.onFailure && this.options.sendToDestination) {
      await this.options
        .sendToDestination(spec.onFailure, destinationRecord, spec.key)
        .catch((error: unknown) =>
          this.options.log(`[${spec.key}] on-failure destination: ${String(error)}`),
        );
    }
    this.options.log(`[${spec.key}] gave up after ${attempts} attempts; on-failure record: ${file}`);
  }

  /** Resolves when no asynchronous invocation is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Ends every container and resolves once no asynchronous invocation is left running or waiting to retry. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.sleepers]) wake();
    for (const pool of this.containers.values()) {
      await Promise.all(pool.map((c) => c.worker.terminate()));
    }
    this.containers.clear();
    await this.idle();
  }
}
