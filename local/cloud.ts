/**
 * The local cloud: moto_server for the AWS APIs, the CNCF registry behind an ECR-like front, the
 * packaged stack deployed into them, and the bundled handlers invoked as Lambda would invoke them.
 * The interface is `LocalCloud` below; docs/local-cloud.md says how to use it.
 *
 * startLocalCloud starts the parts in order (servers, then the stack, then what delivers to it);
 * `StartedParts` stops whatever was started, in reverse; the wiring between the stack and the local
 * services is in stack-wiring.ts, the queue pollers in pollers.ts, the scheduled rules in schedules.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { ListTagsForResourceCommand } from '@aws-sdk/client-ecr';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ACCOUNT_ID, DEFAULT_BASE_PORT, DEFAULT_REGION, LOCAL_CREDENTIALS } from '../shared/local-cloud.ts';
import {
  type CodeBuildService,
  createCodeBuildService,
  type LocalCodeBuildOptions,
} from './codebuild/index.ts';
import { runCustomResources } from './custom-resources.ts';
import { type AwsClients, awsClients, type Deployment, deploy } from './deployer.ts';
import { startGateway } from './gateway.ts';
import { closeServer } from './http.ts';
import { LocalIam, LocalSts, type RoleUsage } from './iam/index.ts';
import { type FailureRecord, type InvocationRecord, Invoker } from './invoker.ts';
import { motoGaps } from './moto-gaps.ts';
import { LOCAL_TEMPLATE, packageLocalStack } from './package.ts';
import { QueuePollers } from './pollers.ts';
import {
  assertPortFree,
  freePort,
  requireTools,
  type Service,
  startMoto,
  startRegistry,
} from './processes.ts';
import { cacheRulesOf, type PullThroughCache, startPullThroughCache } from './pull-through.ts';
import { loadOrCreateKeys, SIGNING_PUBLIC_KEY } from './registry/signing.ts';
import { type EventEntry, type RegistryFront, startRegistryFront } from './registry-front.ts';
import { LocalClock } from './schedules.ts';
import { type Sinks, startSlackSink } from './sinks.ts';
import {
  destinationSender,
  provideSlackWebhook,
  queueDelivery,
  sinkSnsMessage,
  subscribeSnsSink,
} from './stack-wiring.ts';
import { readTemplate, type Template } from './template.ts';

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
  /**
   * A stack packaged with other parameters (`serverless package --param=...`) to deploy instead of the
   * local package, e.g. with replicationRegions or scanning=ENHANCED, or a copy with a permission
   * removed; the local package is still prepared, so dist/ is current.
   */
  templatePath?: string;
  /** Scheduled rules fire every this many ms; default: a rate() expression's own period; 0: only fireSchedule. */
  scheduleIntervalMs?: number;
  /** Delays before the two retries of an asynchronous invocation (default 1 s, 2 s; Lambda: ~1 and ~2 min). */
  retryDelaysMs?: number[];
  /** How often the local queues are polled (default 100 ms). */
  pollIntervalMs?: number;
  /** Tuning of the local CodeBuild (concurrency, queue, length of a minute); see LocalCodeBuildOptions. */
  codebuild?: LocalCodeBuildOptions;
  /**
   * Enforce the packaged template's IAM on the stack's own requests and report their use (default
   * true; local/iam/); false: every request passes unexamined, as before (`npm start -- --iam off`).
   */
  iam?: boolean;
  /**
   * Where managed signing keeps its key pair (made at the first start, reused by every later one);
   * default `.local/signing` of the project (registry/signing.ts).
   */
  signingKeyDir?: string;
}

export interface LocalCloud {
  endpoint: string;
  /** The public key (PEM file) of the local cloud's managed signing. */
  signingPublicKey: string;
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
  /** Per role: the actions used and the statements that allowed them, denials, grants never used. */
  iamReport(): RoleUsage[];
  /**
   * The credentials of a role of the template (logical id or ARN), as STS AssumeRole would give them
   * to a person or a CI job that assumes it; undefined when the template has no such role.
   */
  assumeRole(role: string, session: string): Record<string, string> | undefined;
  /** The AWS environment a build gets (endpoint, region, its project role's credentials), as CodeBuild gives it. */
  buildEnv: Record<string, string>;
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
  // The functions and the build's AWS calls (buildspec/session/) are bundled by the same build.
  const sources = Math.max(
    newestMtime(join(root, 'functions'), (f) => f.endsWith('.ts')),
    newestMtime(join(root, 'buildspec'), (f) => f.endsWith('.ts')),
  );
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

type Ports = LocalCloud['ports'];

/** Gateway and registry front on basePort and basePort + 2 (or kernel-picked with 0); the rest kernel-picked. */
async function choosePorts(basePort: number): Promise<Ports> {
  return {
    gateway: basePort === 0 ? await freePort() : basePort,
    moto: await freePort(),
    registry: basePort === 0 ? await freePort() : basePort + 2,
    registryBackend: await freePort(),
    slack: await freePort(),
  };
}

/** The parts started so far; stop() ends them in reverse order of need, once. */
class StartedParts {
  readonly services: Service[] = [];
  readonly servers: Server[] = [];
  readonly caches: PullThroughCache[] = [];
  front?: RegistryFront;
  invoker?: Invoker;
  codebuild?: CodeBuildService;
  pollers?: QueuePollers;
  clock?: LocalClock;
  iam?: LocalIam;
  private stopping = false;

  constructor(
    private readonly log: (line: string) => void,
    private readonly dataDir: string,
  ) {}

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.pollers?.stop();
    this.clock?.stop();
    await this.front?.scansDone();
    await this.invoker?.stop();
    await this.codebuild
      ?.stop()
      .catch((error: unknown) => this.log(`codebuild: stop failed: ${String(error)}`));
    await Promise.all(this.servers.map(closeServer));
    await Promise.all([...this.services, ...this.caches].map((s) => s.stop()));
    this.reportIam();
  }

  /** The IAM usage report of the run, into the data folder and the log. */
  private reportIam(): void {
    if (!this.iam?.enforcing) return;
    try {
      this.log(this.iam.writeReport(this.dataDir).trimEnd());
      this.log(`iam: report in ${join(this.dataDir, 'iam-report.txt')} (and .json)`);
    } catch (error) {
      this.log(`iam: could not write the report: ${String(error)}`);
    }
  }
}

/** What every later step of the start needs. */
interface Start {
  options: LocalCloudOptions;
  log: (line: string) => void;
  region: string;
  ports: Ports;
  dataDir: string;
  template: Template;
  parts: StartedParts;
  endpoint: string;
  registry: string;
  env: Record<string, string>;
}

/** Starts the local cloud; see LocalCloudOptions. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const log = options.log ?? (() => {});
  const region = options.region ?? DEFAULT_REGION;
  const ports = await choosePorts(options.basePort ?? DEFAULT_BASE_PORT);
  const dataDir = options.dataDir ?? join(root, '.local', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dataDir, { recursive: true });
  requireTools();
  for (const port of [ports.gateway, ports.registry]) await assertPortFree(port);

  const packaged = options.prepare === false ? LOCAL_TEMPLATE : preparePackage(log);
  const templatePath = options.templatePath ?? packaged;
  const template = readTemplate(templatePath);
  const parts = new StartedParts(log, dataDir);
  try {
    const endpoint = `http://127.0.0.1:${ports.gateway}`;
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const start: Start = {
      options,
      log,
      region,
      ports,
      dataDir,
      template,
      parts,
      endpoint,
      registry: `127.0.0.1:${ports.registry}`,
      env,
    };
    const servers = await startServers(start);
    return await startStack(start, servers);
  } catch (error) {
    await parts.stop();
    throw error;
  }
}

interface Servers {
  /** Clients of moto itself (not through the gateway). */
  moto: AwsClients;
  putEvents: (entries: unknown[]) => Promise<void>;
  sinks: Sinks;
  iam: LocalIam;
  /** The public key (PEM file) of managed signing. */
  signingPublicKey: string;
}

/** moto and the registry, the registry front, the gateway and the Slack sink. */
async function startServers(start: Start): Promise<Servers> {
  const { ports, dataDir, log, parts, region } = start;
  // Both settle before going on: when one fails, stop() also ends the one that came up.
  const [motoStart, registryStart] = await Promise.allSettled([
    startMoto(ports.moto, dataDir),
    startRegistry(ports.registryBackend, dataDir),
  ]);
  for (const started of [motoStart, registryStart])
    if (started.status === 'fulfilled') parts.services.push(started.value);
  if (motoStart.status === 'rejected') throw motoStart.reason;
  if (registryStart.status === 'rejected') throw registryStart.reason;
  const registryBackend = registryStart.value;
  const motoEndpoint = `http://127.0.0.1:${ports.moto}`;
  log(`moto_server on ${motoEndpoint}; registry storage in ${registryBackend.storage}`);

  const moto = awsClients(motoEndpoint, region);
  const putEvents = async (entries: unknown[]) => {
    const answer = await moto.events.send(new PutEventsCommand({ Entries: entries as EventEntry[] }));
    if ((answer.FailedEntryCount ?? 0) > 0) {
      throw new Error(`PutEvents failed: ${JSON.stringify(answer.Entries?.filter((e) => e.ErrorCode))}`);
    }
  };
  const iam = new LocalIam({
    scope: { region, account: ACCOUNT_ID },
    enforce: start.options.iam ?? true,
    resourceTags: repositoryTags(moto.ecr),
  });
  parts.iam = iam;
  log(`iam: the template's IAM is ${iam.enforcing ? 'enforced' : 'not enforced (--iam off)'}`);
  const keyDir = start.options.signingKeyDir ?? join(root, '.local', 'signing');
  const signingKeys = loadOrCreateKeys(keyDir);
  log(
    `signing: managed signing signs with ${signingKeys.created ? 'a new' : 'the'} local key; its public key: ${join(keyDir, SIGNING_PUBLIC_KEY)}`,
  );
  const pullThroughCaches = await startCaches(start);
  const front = await startRegistryFront({
    signingKeys,
    pullThroughCaches,
    port: ports.registry,
    backendPort: ports.registryBackend,
    storage: registryBackend.storage,
    ecr: moto.ecr,
    putEvents,
    iam,
    log,
  });
  parts.front = front;
  parts.servers.push(front.server);
  const gateway = await startGateway({
    port: ports.gateway,
    motoPort: ports.moto,
    region,
    registry: start.registry,
    ecrHook: front.ecrHook,
    ecrServe: front.ecrServe,
    codebuild: () => parts.codebuild,
    lambda: () => parts.invoker,
    iam,
    log,
  });
  parts.servers.push(gateway);
  const slack = await startSlackSink(ports.slack, log);
  parts.servers.push(slack.server);
  return { moto, putEvents, sinks: slack.sinks, iam, signingPublicKey: join(keyDir, SIGNING_PUBLIC_KEY) };
}

/**
 * The stack's pull-through cache rules (`pullThroughCache`), each run as a registry playing its
 * upstream (holding `library/busybox`) and a distribution registry in proxy mode as its cache.
 */
async function startCaches(start: Start) {
  const routes = [];
  for (const rule of cacheRulesOf(start.template)) {
    const cache = await startPullThroughCache(join(start.dataDir, 'pull-through', rule.prefix), rule.prefix);
    start.parts.caches.push(cache);
    start.log(
      `pull-through cache ${rule.prefix}: /v2/${rule.prefix}/... goes to a cache on 127.0.0.1:${cache.port} ` +
        'of a local registry playing the upstream (it holds library/busybox)',
    );
    routes.push({ ...rule, port: cache.port });
  }
  return routes;
}

/** The tags of an ECR repository (for `ecr:ResourceTag/*`), as moto keeps them. */
function repositoryTags(ecr: AwsClients['ecr']) {
  return async (arn: string): Promise<Record<string, string> | undefined> => {
    const answer = await ecr
      .send(new ListTagsForResourceCommand({ resourceArn: arn }))
      .catch(() => undefined);
    if (!answer) return undefined;
    return Object.fromEntries((answer.tags ?? []).map((t) => [String(t.Key), String(t.Value)]));
  };
}

/** Gives each function the credentials of its role, as Lambda does; returns the build's environment. */
function assumeRoles(iam: LocalIam, deployment: Deployment, env: Record<string, string>) {
  iam.useModel(deployment.iam);
  for (const fn of deployment.functions) {
    const principal = iam.credentialsOf('function', fn.key, fn.functionName);
    if (principal) Object.assign(fn.env, LocalSts.env(principal));
  }
  const project = deployment.projects[0];
  const builder = project
    ? iam.credentialsOf('project', project.name, `AWSCodeBuild-${project.name}`)
    : undefined;
  return { ...env, ...(builder ? LocalSts.env(builder) : {}) };
}

/**
 * Sends a failed invocation to its on-failure destination once the function's role may (Lambda sends
 * it with the execution role): a denial is thrown, and the invoker logs it, as Lambda drops the record.
 */
function authorizedDestinationSender(
  iam: LocalIam,
  deployment: Deployment,
  send: (arn: string, record: unknown) => Promise<void>,
) {
  return async (arn: string, record: unknown, functionKey: string): Promise<void> => {
    const fn = deployment.functions.find((f) => f.key === functionKey);
    const denial = await iam.authorizeDestination(functionKey, fn?.functionName ?? functionKey, arn);
    if (denial) throw new Error(`AccessDenied: ${denial.message}`);
    await send(arn, record);
  };
}

/**
 * The local CodeBuild runs every build on this one machine: the other architecture has no native
 * environment here, so the build-trigger builds its platforms emulated (QEMU, registered by
 * scripts/setup.mjs) on the host's environment and labels those legs emulated.
 */
export function hostArchitectureEnv(arch: string): Record<string, string> {
  if (arch === 'arm64') return { AMD64_BUILD_IMAGE: 'none' };
  return { ARM64_BUILD_IMAGE: 'none' };
}

/** The stack deployed, its functions, the local CodeBuild, the pollers and the clock; the cloud's interface. */
async function startStack(start: Start, servers: Servers): Promise<LocalCloud> {
  const { options, log, region, parts, dataDir, env } = start;
  const { moto, putEvents, sinks, iam } = servers;
  const deployment = await deploy({
    template: start.template,
    root,
    region,
    clients: moto,
    baseEnv: env,
    functionEnv: {
      ...options.functionEnv,
      buildTrigger: { ...hostArchitectureEnv(process.arch), ...options.functionEnv?.buildTrigger },
    },
    log,
  });
  writeFileSync(join(dataDir, 'deployment.json'), JSON.stringify(deployment, null, 2));
  const buildEnv = assumeRoles(iam, deployment, env);
  await provideSlackWebhook(
    moto,
    deployment,
    `http://127.0.0.1:${start.ports.slack}/services/local/webhook`,
    log,
  );
  const snsQueueUrl = await subscribeSnsSink(moto, deployment, region);

  const invoker = new Invoker({
    dataDir,
    retryDelaysMs: options.retryDelaysMs,
    log,
    sendToDestination: authorizedDestinationSender(iam, deployment, destinationSender(moto)),
  });
  parts.invoker = invoker;
  for (const fn of deployment.functions) invoker.register(fn);
  await runCustomResources(deployment.customResources, {
    stackName: deployment.stackName,
    region,
    invoke: (key, event) => invoker.invoke(key, event),
    log,
  });
  for (const line of motoGaps(start.template, deployment)) log(line);

  // CodeBuild: the local build service (local/codebuild/), which runs the buildspec for real.
  const project = deployment.projects[0];
  if (project) {
    parts.codebuild = createCodeBuildService(
      {
        dataDir: join(dataDir, 'codebuild'),
        region,
        accountId: ACCOUNT_ID,
        endpoint: start.endpoint,
        registry: start.registry,
        buildEnv,
        project,
        putEvents,
        logs: moto.logs,
        log,
      },
      options.codebuild,
    );
    log(`codebuild: project ${project.name} runs locally`);
  }

  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const pollers = new QueuePollers({ sqs: moto.sqs, intervalMs: pollIntervalMs, log });
  parts.pollers = pollers;
  const deliver = queueDelivery(moto, invoker, region);
  for (const queue of deployment.queues) pollers.add(queue.url, (body) => deliver(queue, body));
  pollers.add(snsQueueUrl, async (body) => sinkSnsMessage(sinks, body, log));

  const clock = new LocalClock(deployment.schedules, region, (key, event) => invoker.invokeAsync(key, event));
  parts.clock = clock;
  clock.start(options.scheduleIntervalMs);

  return {
    endpoint: start.endpoint,
    signingPublicKey: servers.signingPublicKey,
    region,
    env,
    bucket: deployment.contextsBucket ?? deployment.buckets[0] ?? '',
    registry: start.registry,
    projectName: project?.name ?? '',
    sinks,
    failures: invoker.failures,
    invocations: invoker.invocations,
    invoke: (name, event) => invoker.invoke(name, event),
    fireSchedule: (functionName = 'ecrEvents') => clock.fire(functionName),
    putEvents,
    dataDir,
    ports: start.ports,
    deployment,
    idle: () => pollers.idle(() => invoker.idle()),
    iamReport: () => iam.report(),
    assumeRole: (role, session) => {
      const found = iam.role(role);
      return found ? LocalSts.env(iam.sts.issue(found, session)) : undefined;
    },
    buildEnv,
    async stop() {
      await parts.stop();
      await pollers.stopped();
    },
  };
}
