/**
 * The local cloud: moto_server for the AWS APIs, the CNCF registry behind an ECR-like front, the
 * packaged stack deployed into them, and the bundled handlers invoked as Lambda would invoke them.
 * The interface is `LocalCloud` below; README "The local cloud" says how to use it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { createCodeBuildService, type LocalCodeBuildOptions } from './codebuild/index.ts';
import { ACCOUNT_ID } from './constants.ts';
import { awsClients, type Deployment, deploy } from './deployer.ts';
import { type CodeBuildHandler, startGateway } from './gateway.ts';
import { closeServer } from './http.ts';
import { type FailureRecord, type InvocationRecord, Invoker } from './invoker.ts';
import { LOCAL_TEMPLATE, packageLocalStack } from './package.ts';
import {
  assertPortFree,
  freePort,
  requireTools,
  type Service,
  startMoto,
  startRegistry,
} from './processes.ts';
import { correctEventBridgeEvent, createSequencer, s3MessageToEvents } from './records.ts';
import { type EventEntry, type RegistryFront, startRegistryFront } from './registry-front.ts';
import { type Sinks, startSlackSink } from './sinks.ts';
import { readTemplate } from './template.ts';

export type FunctionKey = 'buildTrigger' | 'ecrEvents';

export interface LocalCloudOptions {
  /**
   * Gateway port (default 4566); the registry front takes basePort + 2. 0: the kernel picks both (tests:
   * fixed ports in the kernel's ephemeral range, 32768-60999 here, can be held for a minute by another
   * program's closed connections). moto, the registry behind the front and the Slack sink always take
   * ports the kernel picks.
   */
  basePort?: number;
  /** Default: .local/<start time>/ in the project. */
  dataDir?: string;
  region?: string;
  functionEnv?: Partial<Record<FunctionKey, Record<string, string>>>;
  log?: (line: string) => void;
  /** Build and package (local/package.ts) when dist/ or the package are missing or older than the sources (default true). */
  prepare?: boolean;
  /** Scheduled rules fire every this many ms; default: a rate() expression's own period; 0: only fireSchedule. */
  scheduleIntervalMs?: number;
  /** Delays before the two retries of an asynchronous invocation (default 1 s, 2 s; Lambda: ~1 and ~2 min). */
  retryDelaysMs?: number[];
  /** How often the local queues are polled (default 100 ms). */
  pollIntervalMs?: number;
  /** Tuning of the local CodeBuild (concurrency, queue, length of a minute); see LocalCodeBuildOptions. */
  codebuild?: LocalCodeBuildOptions;
}

export interface LocalCloud {
  endpoint: string;
  region: string;
  env: Record<string, string>;
  bucket: string;
  registry: string;
  projectName: string;
  sinks: Sinks;
  failures: FailureRecord[];
  /** Every handler run (each attempt), in order: what it was given and what it returned or threw. */
  invocations: InvocationRecord[];
  invoke(functionName: FunctionKey, event: unknown): Promise<unknown>;
  fireSchedule(functionName?: FunctionKey): Promise<void>;
  putEvents(entries: unknown[]): Promise<void>;
  stop(): Promise<void>;
  /** Extras of this implementation. */
  dataDir: string;
  ports: { gateway: number; moto: number; registry: number; registryBackend: number; slack: number };
  deployment: Deployment;
  /** Resolves when the local queues are empty and no asynchronous invocation runs. */
  idle(): Promise<void>;
}

const root = new URL('..', import.meta.url).pathname;

function newestMtime(path: string, filter: (file: string) => boolean): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return filter(path) ? stat.mtimeMs : 0;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry), filter));
  return newest;
}

/**
 * Runs `npm run build` and packages the local cloud's stack (local/package.ts) when their outputs are
 * missing or older than their inputs.
 */
export function preparePackage(log: (line: string) => void): string {
  const sources = newestMtime(join(root, 'functions'), (f) => f.endsWith('.ts'));
  const bundles = newestMtime(join(root, 'dist'), (f) => f.endsWith('.mjs'));
  if (bundles === 0 || bundles < sources) {
    log('prepare: npm run build');
    const result = spawnSync('npm', ['run', '--silent', 'build'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (result.status !== 0) {
      throw new Error(`npm run build failed:\n${String(result.stdout)}${String(result.stderr)}`);
    }
  }
  const inputs = Math.max(
    newestMtime(join(root, 'serverless.yml'), () => true),
    newestMtime(join(root, 'resources'), () => true),
    newestMtime(join(root, 'buildspec'), () => true),
    newestMtime(join(root, 'dist'), (f) => f.endsWith('.mjs')),
    newestMtime(new URL('./package.ts', import.meta.url).pathname, () => true),
  );
  if (!existsSync(LOCAL_TEMPLATE) || statSync(LOCAL_TEMPLATE).mtimeMs < inputs) packageLocalStack(log);
  return LOCAL_TEMPLATE;
}

/** Seconds in a `rate(N unit)` schedule expression; undefined for cron(). */
export function ratePeriodMs(expression: string): number | undefined {
  const match = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) return undefined;
  const unit = match[2]?.startsWith('minute')
    ? 60_000
    : match[2]?.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return Number(match[1]) * unit;
}

/** Starts the local cloud; see LocalCloudOptions. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const log = options.log ?? (() => {});
  const region = options.region ?? 'us-east-1';
  const basePort = options.basePort ?? 4566;
  const ports = {
    gateway: basePort === 0 ? await freePort() : basePort,
    moto: await freePort(),
    registry: basePort === 0 ? await freePort() : basePort + 2,
    registryBackend: await freePort(),
    slack: await freePort(),
  };
  const dataDir = options.dataDir ?? join(root, '.local', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dataDir, { recursive: true });
  requireTools();
  for (const port of [ports.gateway, ports.registry]) await assertPortFree(port);

  const templatePath = options.prepare === false ? LOCAL_TEMPLATE : preparePackage(log);
  const template = readTemplate(templatePath);

  const services: Service[] = [];
  const servers: Server[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  let invoker: Invoker | undefined;
  let codebuild: CodeBuildHandler | undefined;
  let front: RegistryFront | undefined;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const timer of timers) clearInterval(timer);
    await front?.scansDone();
    await invoker?.stop();
    await codebuild?.stop().catch((error: unknown) => log(`codebuild: stop failed: ${String(error)}`));
    await Promise.all(servers.map(closeServer));
    await Promise.all(services.map((s) => s.stop()));
  };

  try {
    const motoEndpoint = `http://127.0.0.1:${ports.moto}`;
    const endpoint = `http://127.0.0.1:${ports.gateway}`;
    const registry = `127.0.0.1:${ports.registry}`;
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    };

    // Both settle before going on: when one fails, stop() below also ends the one that came up.
    const [motoStart, registryStart] = await Promise.allSettled([
      startMoto(ports.moto, dataDir),
      startRegistry(ports.registryBackend, dataDir),
    ]);
    for (const start of [motoStart, registryStart])
      if (start.status === 'fulfilled') services.push(start.value);
    if (motoStart.status === 'rejected') throw motoStart.reason;
    if (registryStart.status === 'rejected') throw registryStart.reason;
    const registryBackend = registryStart.value;
    log(`moto_server on ${motoEndpoint}; registry storage in ${registryBackend.storage}`);

    const moto_ = awsClients(motoEndpoint, region);
    const putEvents = async (entries: unknown[]) => {
      const answer = await moto_.events.send(new PutEventsCommand({ Entries: entries as EventEntry[] }));
      if ((answer.FailedEntryCount ?? 0) > 0) {
        throw new Error(`PutEvents failed: ${JSON.stringify(answer.Entries?.filter((e) => e.ErrorCode))}`);
      }
    };

    front = await startRegistryFront({
      port: ports.registry,
      backendPort: ports.registryBackend,
      storage: registryBackend.storage,
      ecr: moto_.ecr,
      putEvents,
      log,
    });
    servers.push(front.server);
    const gateway = await startGateway({
      port: ports.gateway,
      motoPort: ports.moto,
      region,
      registry,
      ecrHook: front.ecrHook,
      codebuild: () => codebuild,
      log,
    });
    servers.push(gateway);

    const slack = await startSlackSink(ports.slack, log);
    servers.push(slack.server);
    const sinks = slack.sinks;

    const deployment = await deploy({
      template,
      root,
      region,
      clients: moto_,
      baseEnv: env,
      functionEnv: options.functionEnv as Record<string, Record<string, string>> | undefined,
      log,
    });
    writeFileSync(join(dataDir, 'deployment.json'), JSON.stringify(deployment, null, 2));

    // The Slack webhook URL is a secret the stack reads but does not create (CloudFormation cannot
    // make SecureString parameters): the local cloud puts the sink's URL there.
    const webhookUrl = `http://127.0.0.1:${ports.slack}/services/local/webhook`;
    for (const fn of deployment.functions) {
      const name = fn.env.SLACK_WEBHOOK_PARAMETER;
      if (!name) continue;
      if (fn.env.SLACK_WEBHOOK_SOURCE === 'secretsmanager') {
        await moto_.secrets
          .send(new CreateSecretCommand({ Name: name, SecretString: webhookUrl }))
          .catch(() => undefined);
      } else {
        await moto_.ssm.send(
          new PutParameterCommand({ Name: name, Value: webhookUrl, Type: 'SecureString', Overwrite: true }),
        );
      }
      log(`slack: webhook ${name} -> ${webhookUrl}`);
    }

    // The SNS sink: a queue subscribed to every topic of the stack.
    const snsQueue = await moto_.sqs.send(new CreateQueueCommand({ QueueName: 'local-sns-sink' }));
    const snsQueueArn = `arn:aws:sqs:${region}:${ACCOUNT_ID}:local-sns-sink`;
    for (const topic of deployment.topics) {
      await moto_.sns.send(new SubscribeCommand({ TopicArn: topic, Protocol: 'sqs', Endpoint: snsQueueArn }));
    }

    invoker = new Invoker({
      dataDir,
      retryDelaysMs: options.retryDelaysMs,
      log,
      async sendToDestination(arn, record) {
        const body = JSON.stringify(record);
        if (arn.startsWith('arn:aws:sqs:')) {
          const name = arn.split(':').at(-1) ?? '';
          const { QueueUrl } = await moto_.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
          await moto_.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
        } else if (arn.startsWith('arn:aws:sns:')) {
          await moto_.sns.send(new PublishCommand({ TopicArn: arn, Message: body }));
        }
      },
    });
    for (const fn of deployment.functions) invoker.register(fn);
    const inv = invoker;

    // CodeBuild: the local build service (local/codebuild/), which runs the buildspec for real.
    const project = deployment.projects[0];
    if (project) {
      codebuild = createCodeBuildService(
        {
          dataDir: join(dataDir, 'codebuild'),
          region,
          accountId: ACCOUNT_ID,
          endpoint,
          registry,
          buildEnv: { ...env },
          project,
          putEvents,
          logs: moto_.logs,
          log,
        },
        options.codebuild,
      );
      log(`codebuild: project ${project.name} runs locally`);
    }

    // Pollers: each local queue into its function, the SNS queue into the sink.
    const sequencer = createSequencer();
    const versionId = async (bucket: string, key: string, eTag: string | undefined) => {
      try {
        const answer = await moto_.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
        const versions = (answer.Versions ?? []).filter(
          (v) => v.Key === key && v.VersionId && v.VersionId !== 'null',
        );
        const match =
          versions.find((v) => eTag && v.ETag?.replace(/"/g, '') === eTag.replace(/"/g, '')) ??
          versions.find((v) => v.IsLatest);
        return match?.VersionId;
      } catch {
        return undefined;
      }
    };
    const pending = new Set<Promise<unknown>>();
    let received = 0;
    const poll = async (queueUrl: string, onMessage: (body: unknown) => Promise<void>) => {
      let failing = false;
      while (!stopping) {
        let messages: Array<{ Body?: string; ReceiptHandle?: string; MessageId?: string }> = [];
        try {
          const answer = await moto_.sqs.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
          );
          messages = answer.Messages ?? [];
          if (messages.length > 0) {
            await moto_.sqs.send(
              new DeleteMessageBatchCommand({
                QueueUrl: queueUrl,
                Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
              }),
            );
          }
          failing = false;
        } catch (error) {
          // once per outage, not every poll
          if (!stopping && !failing) log(`poller ${queueUrl}: ${String(error)}`);
          failing = true;
        }
        received += messages.length;
        for (const message of messages) {
          let body: unknown;
          try {
            body = JSON.parse(message.Body ?? '');
          } catch {
            body = message.Body;
          }
          const work = onMessage(body).catch((error: unknown) => log(`poller: ${String(error)}`));
          pending.add(work);
          void work.finally(() => pending.delete(work));
        }
        if (messages.length === 0) await new Promise((r) => setTimeout(r, options.pollIntervalMs ?? 100));
      }
    };
    const pollers: Promise<void>[] = [];
    for (const queue of deployment.queues) {
      pollers.push(
        poll(queue.url, async (body) => {
          if (queue.kind === 's3') {
            const events = await s3MessageToEvents(body, { region, versionId, sequencer });
            await Promise.all(events.map((event) => inv.invokeAsync(queue.functionKey, event)));
          } else {
            await inv.invokeAsync(
              queue.functionKey,
              correctEventBridgeEvent(body as Record<string, unknown>),
            );
          }
        }),
      );
    }
    pollers.push(
      poll(String(snsQueue.QueueUrl), async (body) => {
        const envelope = body as {
          Subject?: string;
          Message?: string;
          MessageAttributes?: Record<string, { Value?: string }>;
        };
        const attributes = Object.fromEntries(
          Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, String(v.Value ?? '')]),
        );
        sinks.sns.push({
          receivedAt: new Date().toISOString(),
          ...(envelope.Subject ? { subject: envelope.Subject } : {}),
          message: String(envelope.Message ?? ''),
          attributes,
        });
        log(`sns: ${envelope.Subject ? `[${envelope.Subject}] ` : ''}${String(envelope.Message ?? '')}`);
      }),
    );

    const scheduledEvent = (rule: Deployment['schedules'][number]) =>
      rule.input ?? {
        version: '0',
        id: crypto.randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT_ID,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region,
        resources: [rule.ruleArn],
        detail: {},
      };
    const fireSchedule = async (functionName: FunctionKey = 'ecrEvents') => {
      const rules = deployment.schedules.filter((s) => s.functionKey === functionName);
      if (rules.length === 0) throw new Error(`no scheduled rule targets ${functionName} in the template`);
      await Promise.all(rules.map((rule) => inv.invokeAsync(rule.functionKey, scheduledEvent(rule))));
    };
    for (const rule of deployment.schedules) {
      const period = options.scheduleIntervalMs ?? ratePeriodMs(rule.expression);
      if (!period) continue;
      const timer = setInterval(() => void inv.invokeAsync(rule.functionKey, scheduledEvent(rule)), period);
      timer.unref();
      timers.push(timer);
    }

    const bucket = deployment.contextsBucket ?? deployment.buckets[0] ?? '';
    const cloud: LocalCloud = {
      endpoint,
      region,
      env,
      bucket,
      registry,
      projectName: project?.name ?? '',
      sinks,
      failures: inv.failures,
      invocations: inv.invocations,
      invoke: (name, event) => inv.invoke(name, event),
      fireSchedule,
      putEvents,
      dataDir,
      ports,
      deployment,
      async idle() {
        for (;;) {
          const before = received;
          await Promise.allSettled([...pending]);
          await inv.idle();
          // a few quiet rounds of every poller: nothing arrived, nothing in flight
          await new Promise((r) => setTimeout(r, 3 * (options.pollIntervalMs ?? 100) + 200));
          if (received === before && pending.size === 0) return;
        }
      },
      async stop() {
        await stop();
        await Promise.allSettled(pollers);
      },
    };
    return cloud;
  } catch (error) {
    await stop();
    throw error;
  }
}
