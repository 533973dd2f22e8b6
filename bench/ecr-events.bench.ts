/**
 * The ecr-events function as Lambda runs it (the bundle, dist/ecr-events/index.mjs): a stale-repository
 * sweep over 1,000 managed repositories of 20 images each, against a simulated ECR, Resource Groups
 * Tagging API, Lambda, ECS and CodeBuild served over HTTP (AWS_ENDPOINT_URL). The simulation answers each call
 * after 20-50 ms and throttles like AWS does (a token bucket per operation, `ThrottlingException`);
 * the rates are assumptions, AWS does not publish them for these read APIs. Counted: API calls by
 * operation, throttled answers, wall time; and the bundle's size.
 *
 * Run alone: `npm run build && npx tsx bench/run.ts ecr-events`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ACCOUNT_ID, DEFAULT_REGION } from '../shared/local-cloud.ts';
import type { Row } from './types.ts';

const root = new URL('..', import.meta.url).pathname;
const BUNDLE = join(root, 'dist', 'ecr-events', 'index.mjs');
// The local cloud's account and region: the same values moto answers with.
const ACCOUNT = ACCOUNT_ID;
const REGION = DEFAULT_REGION;
const STACK = 'bench-stack';
const MANAGED = 1000;
const UNMANAGED = 200;
const IMAGES = 20;
const DAY = 86_400;
const TIMEOUT_S = 300;

/** Operations per second and burst, per operation (assumed; AWS publishes none for these). */
const RATES: Record<string, [number, number]> = {
  GetResources: [5, 5],
  DescribeRepositories: [10, 20],
  DescribeImages: [20, 40],
  ListTagsForResource: [20, 40],
  TagResource: [10, 20],
  UntagResource: [10, 20],
  DeleteRepository: [5, 10],
  ListFunctions: [10, 20],
  GetFunction: [10, 20],
  ListTaskDefinitions: [5, 10],
  DescribeTaskDefinition: [5, 10],
  ListBuildsForProject: [5, 10],
  BatchGetBuilds: [5, 10],
};

interface Repo {
  name: string;
  createdAt: number;
  tags: Map<string, string>;
  images: { digest: string; tag: string; pushedAt: number; pulledAt?: number }[];
}

/** 1,000 managed repositories: 70% active, 20% stale, 10% stale and marked 10 days ago; plus unmanaged ones. */
function world(now: number): Map<string, Repo> {
  const repos = new Map<string, Repo>();
  for (let i = 0; i < MANAGED + UNMANAGED; i++) {
    const managed = i < MANAGED;
    const name = managed ? `bench/app-${String(i).padStart(4, '0')}` : `other/app-${i}`;
    const kind = i % 10;
    const stale = kind >= 7;
    const ageDays = stale ? 200 : 5 + (i % 30);
    const tags = new Map<string, string>();
    if (managed) tags.set('ecr-pipeline:managed-by', STACK);
    if (managed && kind === 9)
      tags.set('ecr-pipeline:stale-since', new Date((now - 10 * DAY) * 1000).toISOString().slice(0, 10));
    const images = Array.from({ length: IMAGES }, (_, n) => ({
      digest: `sha256:${(i * 100 + n).toString(16).padStart(64, '0')}`,
      tag: `v${n}`,
      pushedAt: now - (ageDays + (IMAGES - n)) * DAY,
      pulledAt: n % 3 === 0 ? now - (ageDays + 3) * DAY : undefined,
    }));
    repos.set(name, { name, createdAt: now - 400 * DAY, tags, images });
  }
  return repos;
}

const arnOf = (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`;
const nameOf = (arn: string) => arn.slice(arn.indexOf(':repository/') + ':repository/'.length);

class Simulation {
  calls = new Map<string, number>();
  throttled = 0;
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private repos: Map<string, Repo>,
    private random: () => number,
  ) {}

  private allow(op: string): boolean {
    const [rate, burst] = RATES[op] ?? [10, 20];
    const now = performance.now() / 1000;
    const b = this.buckets.get(op) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(op, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    const target = String(req.headers['x-amz-target'] ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    const op = target
      ? (target.split('.').pop() ?? '')
      : // The SDK sends ListFunctions to `/2015-03-31/functions` (the API reference writes a trailing `/`).
        /\/functions\/?$/.test(url.pathname)
        ? 'ListFunctions'
        : 'GetFunction';
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 20 + this.random() * 30));
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(payload));
    };
    if (!this.allow(op)) {
      this.throttled++;
      return send(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
    }
    try {
      send(200, this.answer(op, body, url));
    } catch (error) {
      send(400, { __type: (error as Error).name, message: (error as Error).message });
    }
  }

  private repo(name: string): Repo {
    const repo = this.repos.get(name);
    if (!repo)
      throw Object.assign(new Error(`repository ${name} not found`), { name: 'RepositoryNotFoundException' });
    return repo;
  }

  private answer(op: string, body: Record<string, unknown>, url: URL): unknown {
    switch (op) {
      case 'GetResources': {
        const [filter] = body.TagFilters as { Key: string; Values: string[] }[];
        const all = [...this.repos.values()].filter(
          (r) => filter?.Values.includes(r.tags.get(filter.Key) ?? '') === true,
        );
        const start = Number(body.PaginationToken || 0);
        const size = Number(body.ResourcesPerPage ?? 50);
        const page = all.slice(start, start + size);
        return {
          ResourceTagMappingList: page.map((r) => ({
            ResourceARN: arnOf(r.name),
            Tags: [...r.tags].map(([Key, Value]) => ({ Key, Value })),
          })),
          PaginationToken: start + size < all.length ? String(start + size) : '',
        };
      }
      case 'DescribeRepositories': {
        const names = body.repositoryNames as string[] | undefined;
        const all = names ? names.map((n) => this.repo(n)) : [...this.repos.values()];
        const start = Number(body.nextToken ?? 0);
        const size = Number(body.maxResults ?? 100);
        return {
          repositories: all.slice(start, start + size).map((r) => ({
            repositoryArn: arnOf(r.name),
            registryId: ACCOUNT,
            repositoryName: r.name,
            createdAt: r.createdAt,
          })),
          nextToken: start + size < all.length ? String(start + size) : undefined,
        };
      }
      case 'DescribeImages': {
        const repo = this.repo(String(body.repositoryName));
        const start = Number(body.nextToken ?? 0);
        const size = Number(body.maxResults ?? 100);
        return {
          imageDetails: repo.images.slice(start, start + size).map((img) => ({
            registryId: ACCOUNT,
            repositoryName: repo.name,
            imageDigest: img.digest,
            imageTags: [img.tag],
            imageSizeInBytes: 52_428_800,
            imagePushedAt: img.pushedAt,
            lastRecordedPullTime: img.pulledAt,
          })),
          nextToken: start + size < repo.images.length ? String(start + size) : undefined,
        };
      }
      case 'ListTagsForResource':
        return {
          tags: [...this.repo(nameOf(String(body.resourceArn))).tags].map(([Key, Value]) => ({ Key, Value })),
        };
      case 'TagResource': {
        const repo = this.repo(nameOf(String(body.resourceArn)));
        for (const t of body.tags as { Key: string; Value: string }[]) repo.tags.set(t.Key, t.Value);
        return {};
      }
      case 'UntagResource': {
        const repo = this.repo(nameOf(String(body.resourceArn)));
        for (const k of body.tagKeys as string[]) repo.tags.delete(k);
        return {};
      }
      case 'DeleteRepository': {
        const repo = this.repo(String(body.repositoryName));
        this.repos.delete(repo.name);
        return {
          repository: { repositoryName: repo.name, repositoryArn: arnOf(repo.name), registryId: ACCOUNT },
        };
      }
      // The account: 60 functions (2 pages), 3 of them container images of stale repositories; 10 task definitions.
      case 'ListFunctions': {
        const start = Number(url.searchParams.get('Marker') ?? 0);
        const fns = Array.from({ length: 60 }, (_, i) => ({
          FunctionName: `fn-${i}`,
          PackageType: i % 20 === 0 ? 'Image' : 'Zip',
        }));
        return {
          Functions: fns.slice(start, start + 50),
          NextMarker: start + 50 < fns.length ? String(start + 50) : null,
        };
      }
      case 'GetFunction': {
        const i = Number(url.pathname.split('fn-').pop());
        const repo = `bench/app-${String(i * 10 + 7).padStart(4, '0')}`;
        return { Code: { ImageUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repo}:v3` } };
      }
      case 'ListTaskDefinitions':
        return {
          taskDefinitionArns: Array.from(
            { length: 10 },
            (_, i) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/web-${i}:1`,
          ),
        };
      // The project: 150 builds, newest first; the newest two still run, into repositories that are
      // not due for deletion; the oldest are two days old (past any build's lifetime).
      case 'ListBuildsForProject': {
        const start = Number(body.nextToken ?? 0);
        const ids = Array.from({ length: 150 }, (_, i) => `${STACK}:${150 - i}`);
        return {
          ids: ids.slice(start, start + 100),
          nextToken: start + 100 < ids.length ? String(start + 100) : undefined,
        };
      }
      case 'BatchGetBuilds': {
        const nowS = Date.now() / 1000;
        return {
          builds: (body.ids as string[]).map((id) => {
            const n = Number(id.split(':').pop());
            return {
              id,
              buildStatus: n > 148 ? 'IN_PROGRESS' : 'SUCCEEDED',
              startTime: nowS - (150 - n) * 1200,
              environment: {
                environmentVariables: [
                  {
                    name: 'IMAGE_REPOSITORY',
                    value: `bench/app-${String(n).padStart(4, '0')}`,
                    type: 'PLAINTEXT',
                  },
                ],
              },
            };
          }),
        };
      }
      case 'DescribeTaskDefinition':
        return {
          taskDefinition: {
            family: 'web',
            revision: 1,
            containerDefinitions: [
              { image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/bench/app-0008@sha256:${'b'.repeat(64)}` },
            ],
          },
        };
      default:
        throw Object.assign(new Error(`not simulated: ${op}`), { name: 'UnknownOperationException' });
    }
  }
}

/** A seeded generator, so that runs are comparable. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  label: string;
  discovery: 'tagging-api' | 'list-tags';
  dryRun: boolean;
}

async function sweepOnce(run: Run, n: number): Promise<Row[]> {
  const now = Math.floor(Date.now() / 1000);
  const sim = new Simulation(world(now), mulberry32(42 + n));
  const server = createServer((req, res) => {
    sim.handle(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    STACK_NAME: STACK,
    BUILD_PROJECT_NAME: STACK,
    SNS_TOPIC_ARN: '',
    SLACK_WEBHOOK_PARAMETER: '',
    SWEEP_DRY_RUN: String(run.dryRun),
    SWEEP_DISCOVERY: run.discovery,
    SWEEP_CHECK_IN_USE: 'true',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const logs: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  // The handler logs as JSON (errors on stderr): keep the lines for the figures, out of the table.
  const keep = ((chunk: string | Uint8Array) => {
    logs.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = keep;
  process.stderr.write = keep;
  const started = performance.now();
  try {
    // A new URL is a new module instance: a cold container reading this run's environment.
    const { handler } = (await import(`${pathToFileURL(BUNDLE).href}?run=${n}`)) as {
      handler: (event: unknown, context: unknown) => Promise<void>;
    };
    const deadline = Date.now() + TIMEOUT_S * 1000;
    await handler(
      {
        version: '0',
        id: 'bench',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT,
        time: new Date().toISOString(),
        region: REGION,
        resources: [],
        detail: {},
      },
      {
        getRemainingTimeInMillis: () => deadline - Date.now(),
        invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:bench`,
      },
    );
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    server.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const name = `ecr-events sweep, ${run.label}`;
  const summary = logs
    .flatMap((line) => line.split('\n'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .find((entry) => entry.message === 'sweep finished');
  const errors = logs.filter((line) => line.includes('"level":"ERROR"')).length;
  if (errors > 0)
    process.stderr.write(
      `${name}: ${errors} error log lines, first: ${logs.find((l) => l.includes('"level":"ERROR"'))}\n`,
    );
  const total = [...sim.calls.values()].reduce((a, b) => a + b, 0);
  const byOp = [...sim.calls]
    .sort((a, b) => b[1] - a[1])
    .map(([op, count]) => `${op} ${count}`)
    .join(', ');
  const pages = Math.ceil(MANAGED / 100);
  return [
    {
      benchmark: name,
      metric: 'wall time',
      value: `${seconds.toFixed(1)} s`,
      goal: `< ${TIMEOUT_S} s (function timeout)`,
    },
    {
      benchmark: name,
      metric: 'API calls (answered + throttled)',
      value: `${total} (${(total / MANAGED).toFixed(2)} per repository)`,
      goal:
        run.discovery === 'tagging-api' ? `≈ ${MANAGED + pages} (1 per repository + 1 per page)` : undefined,
    },
    { benchmark: name, metric: 'calls by operation', value: byOp },
    { benchmark: name, metric: 'throttled answers', value: String(sim.throttled) },
    {
      benchmark: name,
      metric: 'outcome',
      value: summary
        ? `${summary.candidates} candidates: ${summary.marked} marked, ${summary.deleted} deleted, ${summary.pending} pending, ${summary.inUse} in use, ${summary.kept} kept, ${summary.errors} errors`
        : 'no summary logged',
      goal: '0 errors',
    },
  ];
}

export default async function (): Promise<Row[]> {
  // Written by scripts/build.mjs: the entry and the chunks it imports statically (optional clients load later).
  const sizes = JSON.parse(readFileSync(join(root, 'dist', 'ecr-events.sizes.json'), 'utf8')) as {
    coldStart: number;
  };
  const rows: Row[] = [
    {
      benchmark: 'ecr-events bundle',
      metric: 'dist/ecr-events/ loaded at cold start',
      value: `${(sizes.coldStart / 1024).toFixed(1)} KB`,
      goal: '≤ 300 KB',
    },
  ];
  const runs: Run[] = [
    { label: `${MANAGED} repos × ${IMAGES} images, dry run`, discovery: 'tagging-api', dryRun: true },
    {
      label: `${MANAGED} repos × ${IMAGES} images, marking and deleting`,
      discovery: 'tagging-api',
      dryRun: false,
    },
    {
      label: `${MANAGED} + ${UNMANAGED} unmanaged repos, list-tags discovery, dry run`,
      discovery: 'list-tags',
      dryRun: true,
    },
  ];
  for (const [i, run] of runs.entries()) rows.push(...(await sweepOnce(run, i)));
  return rows;
}
