/**
 * `npm run demo`: the whole pipeline on this machine in one command. Brings the local cloud up,
 * puts the busybox base image in its registry, uploads every example under examples/, follows each
 * upload to its outcome and its release (the tag moved by the release function), releases one image
 * and holds another through the scan gate, builds one image for two platforms (one build each, joined
 * into one index that podman reads back), runs a sweep, prints a summary and exits 0 only if every
 * outcome was the expected one. `npm run demo -- --verbose` also prints the local cloud's own log;
 * ECR_PIPELINE_DEMO_PORT moves its ports (default 4566 and up; 0: ports the kernel picks).
 */
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { REPOSITORY_TAGS, UPLOAD_METADATA } from '../functions/shared/contract.ts';
import { contextKey } from '../functions/shared/naming.ts';
import type { UploadRecord } from '../functions/shared/upload-record.ts';
import { DEFAULT_BASE_PORT } from '../shared/local-cloud.ts';
import { BASE_IMAGE_REPOSITORY, installBaseImage } from './base-image.ts';
import { type LocalCloud, startLocalCloud } from './cloud.ts';
import { findScanner } from './scanner.ts';
import { slackText } from './sinks.ts';
import {
  clientsFor,
  type Example,
  keyPrefixOf,
  podmanManifestInspect,
  readExamples,
  readRecord,
  registryPassword,
  type SentUpload,
  sendContext,
  skopeoInspect,
  tarballOf,
  type UploadOutcome,
  waitForOutcome,
} from './uploads.ts';

const execFileAsync = promisify(execFile);
/** The CLI's documented exit code for `--fail-on` (docs/cli.md, exit codes): the demo runs it as a user would. */
const EXIT_SCAN_GATE = 4;
const SWEEP_CLOCK_AHEAD_DAYS = 3;
const verbose = process.argv.includes('--verbose');
const basePort = Number(process.env.ECR_PIPELINE_DEMO_PORT ?? DEFAULT_BASE_PORT);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => console.log(`${elapsed()}  ${line}`);

/** One row of the demo's summary: what was expected of a step and what it did. */
interface DemoCheck {
  example: Example;
  upload: string;
  expected: string;
  got: string;
  ok: boolean;
  detail: string;
  seconds?: number;
}

/** What every step of the demo uses: the running cloud and clients pointed at it. */
interface Demo {
  cloud: LocalCloud;
  clients: ReturnType<typeof clientsFor>;
  ecr: ECRClient;
  prefix: string;
  password: string;
  logFile: string;
}

async function main(): Promise<number> {
  say(`starting the local cloud on 127.0.0.1:${basePort === 0 ? 'ports the kernel picks' : basePort}`);
  const { cloud, logFile } = await startDemoCloud();
  try {
    say(`local cloud up: endpoint ${cloud.endpoint}, registry ${cloud.registry}, bucket ${cloud.bucket}`);
    const demo = await connect(cloud, logFile);
    const checks = (
      await Promise.all([
        ...readExamples().map((example) => runExample(demo, example)),
        gateChecks(demo),
        multiPlatformCheck(demo).then((check) => [check]),
      ])
    ).flat();
    checks.push(await failOnCheck(cloud));
    say('waiting for the last notifications');
    await cloud.idle();
    const slackBeforeSweep = cloud.sinks.slack.length;
    checks.push(await sweepCheck(demo, checks));
    demo.ecr.destroy();
    demo.clients.s3.destroy();
    demo.clients.codebuild.destroy();
    return printSummary(demo, checks, slackBeforeSweep);
  } finally {
    say('shutting the local cloud down');
    await cloud.stop();
  }
}

/**
 * Starts the local cloud with the sweep acting for real; its log goes to a file in the cloud's data
 * folder (and to the console with --verbose).
 */
async function startDemoCloud(): Promise<{ cloud: LocalCloud; logFile: string }> {
  let logFile = '';
  const early: string[] = [];
  const cloudLog = (line: string) => {
    if (verbose) console.log(`        cloud | ${line}`);
    if (logFile) appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    else early.push(line);
  };
  const cloud: LocalCloud = await startLocalCloud({
    basePort,
    log: cloudLog,
    functionEnv: {
      // The sweep acts for real, with the ecr-events function's clock three days ahead: every
      // repository the demo made looks stale (one day), the first sweep marks it, the second
      // deletes it (no grace). The base image's repository is not managed by the stack: kept.
      ecrEvents: {
        SWEEP_DRY_RUN: 'false',
        SWEEP_STALE_DAYS: '1',
        SWEEP_GRACE_DAYS: '0',
        SWEEP_DISCOVERY: 'list-tags', // moto's tagging API does not list ECR repositories
        LOCAL_CLOCK_OFFSET_MS: String(SWEEP_CLOCK_AHEAD_DAYS * 86_400_000),
      },
    },
  });
  logFile = join(cloud.dataDir, 'demo-cloud.log');
  appendFileSync(logFile, early.map((line) => `${line}\n`).join(''));
  return { cloud, logFile };
}

/** Installs the base image and opens the clients and the registry login every step uses. */
async function connect(cloud: LocalCloud, logFile: string): Promise<Demo> {
  const base = await installBaseImage(cloud);
  say(`base image ${base.reference}@${base.digest.slice(0, 19)}… (FROM busybox resolves to it)`);
  const clients = clientsFor(cloud);
  const ecr = new ECRClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: clients.s3.config.credentials,
  });
  const password = await registryPassword(ecr);
  return { cloud, clients, ecr, prefix: keyPrefixOf(cloud), password, logFile };
}

/** The example's object key; the invalid example keeps its invalid key, on purpose. */
function keyOf(demo: Demo, example: Example): string {
  try {
    return contextKey(demo.prefix, example.repository, example.tag);
  } catch {
    return `${demo.prefix}${example.repository}/${example.tag}.tar.gz`;
  }
}

async function send(demo: Demo, example: Example, extra: Record<string, string> = {}): Promise<SentUpload> {
  const { cloud, clients } = demo;
  const body = await tarballOf(example.dir, extra);
  const upload = await sendContext(clients.s3, cloud.bucket, keyOf(demo, example), body, example.metadata);
  say(`uploaded ${example.name.padEnd(18)} -> s3://${cloud.bucket}/${upload.key} (${body.length} bytes)`);
  return upload;
}

const follow = (demo: Demo, upload: SentUpload) =>
  waitForOutcome(demo.cloud, demo.clients, demo.prefix, upload, 600_000);

const FINAL = ['released', 'held', 'superseded', 'rejected', 'failed'];

/** The upload's record once the release function (or the build's failure) wrote its verdict. */
async function released(
  demo: Demo,
  upload: SentUpload,
  timeoutMs = 120_000,
): Promise<UploadRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await readRecord(demo.clients.s3, demo.prefix, upload);
    if (record && FINAL.includes(record.status)) return record;
    if (Date.now() > deadline) return record;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const describe = (outcome: UploadOutcome) =>
  outcome.kind === 'built'
    ? `build ${outcome.build.buildStatus}${outcome.digest ? ` ${outcome.digest.slice(0, 19)}…` : ''}`
    : `${outcome.kind}: ${outcome.record.code ?? ''} ${outcome.record.reason ?? ''}`.trim();

const secondsTo = (upload: SentUpload, outcome: UploadOutcome) => (outcome.at - upload.uploadedAt) / 1000;

/** Uploads one example, follows it to its outcome and checks that outcome against example.json. */
async function runExample(demo: Demo, example: Example): Promise<DemoCheck[]> {
  const upload = await send(demo, example);
  const outcome = await follow(demo, upload);
  say(`${example.name.padEnd(18)} ${describe(outcome)} after ${secondsTo(upload, outcome).toFixed(1)}s`);
  const base = { example, upload: upload.key, seconds: secondsTo(upload, outcome) };
  if (example.expect === 'image' || example.expect === 'image-then-refused')
    return checkImage(demo, example, upload, outcome, base);
  if (example.expect === 'rejected') {
    return [
      {
        ...base,
        expected: `rejected before any build (${example.reason})`,
        got: describe(outcome),
        ok: outcome.kind === 'rejected' && outcome.record.code === example.reason,
        detail: '',
      },
    ];
  }
  return [await checkBuildFailed(demo, example, outcome, base)];
}

type CheckBase = Pick<DemoCheck, 'example' | 'upload' | 'seconds'>;

/** The image was pushed and its labels trace it to the upload; then, if asked, a second push is refused. */
async function checkImage(
  demo: Demo,
  example: Example,
  upload: SentUpload,
  outcome: UploadOutcome,
  base: CheckBase,
): Promise<DemoCheck[]> {
  const { cloud } = demo;
  const reference = `${cloud.registry}/${example.repository}:${example.tag}`;
  const built = outcome.kind === 'built' && outcome.build.buildStatus === 'SUCCEEDED';
  // The build pushed by digest; the tag names the image once the release function moved it.
  const record = built ? await released(demo, upload) : undefined;
  const image =
    record?.status === 'released'
      ? await skopeoInspect(reference, demo.password).catch(() => undefined)
      : undefined;
  const traced = image?.Labels?.['ecr-pipeline.context.uri'] === `s3://${cloud.bucket}/${upload.key}`;
  const digest = outcome.kind === 'built' ? outcome.digest : undefined;
  const first: DemoCheck = {
    ...base,
    expected: 'image pushed and released, labels trace it to the upload',
    got: built ? `${reference}@${digest} ${record?.status ?? 'no record'}` : describe(outcome),
    ok: built && image?.Digest === digest && traced,
    detail: built
      ? `labels: ${image ? `source ${image.Labels?.['org.opencontainers.image.source']}` : 'image not found'}`
      : '',
  };
  if (example.expect !== 'image-then-refused' || !built) return [first];
  return [first, await checkSecondPushRefused(demo, example, digest)];
}

/** Same tag again, different content: refused before the build, or at push time; never overwritten. */
async function checkSecondPushRefused(
  demo: Demo,
  example: Example,
  digest: string | undefined,
): Promise<DemoCheck> {
  const second = await send(demo, example, { 'upload.txt': 'second upload\n' });
  const again = await follow(demo, second);
  const verdict = again.kind === 'built' ? await released(demo, second) : undefined;
  say(`${`${example.name} #2`.padEnd(18)} ${describe(again)} after ${secondsTo(second, again).toFixed(1)}s`);
  const images = await demo.ecr.send(
    new DescribeImagesCommand({
      repositoryName: example.repository,
      imageIds: [{ imageTag: example.tag }],
    }),
  );
  const now = images.imageDetails?.[0]?.imageDigest;
  // Refused before the build, or built (by digest) and then refused the tag by the release.
  const refused =
    (again.kind === 'rejected' && again.record.code === 'TagAlreadyExists') || verdict?.status === 'rejected';
  return {
    example,
    upload: `${second.key} (again)`,
    expected: 'second push of the tag refused, first image kept',
    got: `${describe(again)}${verdict ? `, release ${verdict.status}` : ''}; ${example.tag} still ${now?.slice(0, 19)}…`,
    ok: refused && now === digest,
    detail: '',
    seconds: secondsTo(second, again),
  };
}

/** The build failed, and both its log and the failure notification show why. */
async function checkBuildFailed(
  demo: Demo,
  example: Example,
  outcome: UploadOutcome,
  base: CheckBase,
): Promise<DemoCheck> {
  const failed = outcome.kind === 'built' && outcome.build.buildStatus === 'FAILED';
  const link = outcome.kind === 'built' ? outcome.build.logs?.deepLink : undefined;
  const logText = link ? await fetch(link).then((r) => (r.ok ? r.text() : '')) : '';
  const wanted = example.logContains ?? 'exit status';
  // The failure notification itself says why: the line of the log that explains it.
  const line = await notifiedLine(demo.cloud, `${example.repository}:${example.tag}`, wanted);
  if (line) say(`${example.name.padEnd(18)} notified: ${line}`);
  return {
    ...base,
    expected: `build FAILED, the log and the notification show why ("${wanted}")`,
    got: `${describe(outcome)}; notified: ${line ?? 'no notification with that line'}`,
    ok: failed && logText.includes(wanted) && line !== undefined,
    detail: link ? `log ${link}` : 'no log link',
  };
}

/**
 * One image released and one held: the same context uploaded twice into one repository, the first
 * under the stack's gate (`none`: released once built), the second asking for the scan gate in its
 * metadata (stricter than the stack's, so granted; at the stack's `releaseMaxSeverity`, HIGH). The
 * scan result is the local cloud's: a real scanner's when installed, else the one moto's ECR reports
 * (one HIGH finding, so the second is held), said as such.
 */
async function gateChecks(demo: Demo): Promise<DemoCheck[]> {
  const example = readExamples().find((e) => e.name === 'copy-files');
  if (!example) return [];
  const scanner = findScanner();
  const source = scanner ? `${scanner.name}'s scan` : "moto's reported scan result, not a scan of the image";
  const gated = async (tag: string, gate: 'none' | 'scan', expected: 'released' | 'held') => {
    const target = { ...example, repository: 'examples/gated', tag, metadata: {} } as Example;
    const body = await tarballOf(example.dir);
    const metadata: Record<string, string> = gate === 'scan' ? { 'release-gate': 'scan' } : {};
    const upload = await sendContext(demo.clients.s3, demo.cloud.bucket, keyOf(demo, target), body, metadata);
    say(
      `uploaded ${`gate ${tag}`.padEnd(18)} -> s3://${demo.cloud.bucket}/${upload.key} (release gate ${gate})`,
    );
    const outcome = await follow(demo, upload);
    const record = outcome.kind === 'built' ? await released(demo, upload) : undefined;
    const reference = `${demo.cloud.registry}/examples/gated:${tag}`;
    const image = await skopeoInspect(reference, demo.password).catch(() => undefined);
    const why = record?.release?.reason ? ` (${record.release.reason})` : '';
    const scanned = gate === 'scan' ? `; scan: ${source}` : '';
    say(`${`gate ${tag}`.padEnd(18)} ${record?.status ?? describe(outcome)}${why}${scanned}`);
    const tagged = expected === 'released' ? image?.Digest === record?.digest : image === undefined;
    return {
      example: { title: `release gate ${gate}: ${expected}`, repository: 'examples/gated' } as Example,
      upload: upload.key,
      expected:
        expected === 'released'
          ? `released under the stack's gate (${gate}): the tag names the image`
          : `held under the scan gate the upload asked for: pushed by digest, the tag not moved`,
      got: `${record?.status ?? describe(outcome)}${why}; tag ${image ? `names ${image.Digest.slice(0, 19)}…` : 'absent'}`,
      ok: record?.status === expected && tagged,
      detail: gate === 'scan' ? `scan: ${source}` : '',
      seconds: secondsTo(upload, outcome),
    };
  };
  // In turn: the first creates the repository, the second finds it.
  const pass = await gated('v1-released', 'none', 'released');
  const hold = await gated('v1-held', 'scan', 'held');
  return [pass, hold];
}

/**
 * One upload for two platforms: one build per platform (the arm64 leg emulated here: this machine
 * has no ARM host), joined into one OCI index that podman reads back from the registry. The context
 * has no RUN step, so the foreign leg needs no emulator (binfmt) to build.
 */
async function multiPlatformCheck(demo: Demo): Promise<DemoCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'ecr-pipeline-demo-multi-'));
  const example: Example = {
    name: 'two-platforms',
    title: 'two platforms joined into one index',
    dir,
    repository: 'examples/multi',
    tag: 'v1',
    metadata: { [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64' },
    expect: 'image',
  };
  try {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    writeFileSync(join(dir, 'hello.txt'), 'hello from two platforms\n');
    const upload = await send(demo, example);
    const record = await released(demo, upload, 600_000);
    const reference = `${demo.cloud.registry}/${example.repository}:${example.tag}`;
    const index = await podmanManifestInspect(demo.cloud.registry, reference, demo.password).catch(
      (error: unknown) => ({ error: error instanceof Error ? error.message.split('\n')[0] : String(error) }),
    );
    const children = 'manifests' in index ? (index.manifests ?? []) : [];
    const platforms = children.map((m) => `${m.platform?.os}/${m.platform?.architecture}`);
    const legs = record?.legs ?? [];
    const named = legs.map((leg) => `${leg.platform} (${leg.emulated ? 'emulated' : 'native'})`).join(' + ');
    say(`${example.name.padEnd(18)} ${record?.status ?? 'no record'} ${named}`);
    return {
      example,
      upload: upload.key,
      expected: 'two legs, one build each, joined into one OCI index on the tag; podman reads it back',
      got: `${record?.status ?? 'no record'}: ${named}; podman: ${'error' in index ? index.error : platforms.join(' + ')}`,
      ok:
        record?.status === 'released' &&
        platforms.join(',') === 'linux/amd64,linux/arm64' &&
        children.every((child, i) => child.digest === legs[i]?.digest),
      detail: record?.digest ? `index ${record.digest.slice(0, 19)}…` : '',
      seconds: (Date.now() - upload.uploadedAt) / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Two sweeps with the function's clock ahead: the first marks every managed repository, the second deletes them. */
async function sweepCheck(demo: Demo, checks: DemoCheck[]): Promise<DemoCheck> {
  const { cloud, ecr } = demo;
  let sweepError = '';
  const sweep = async (round: number) => {
    say(`sweep ${round}: fireSchedule (the function's clock ${SWEEP_CLOCK_AHEAD_DAYS} days ahead)`);
    await cloud.fireSchedule('ecrEvents').catch((error: unknown) => {
      sweepError ||= error instanceof Error ? error.message : String(error);
    });
    await cloud.idle();
  };
  const repositoryExists = (name: string) =>
    ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })).then(
      () => true,
      () => false,
    );
  const managed = [
    ...new Set(
      checks
        .filter((r) => r.example.repository && r.example.expect !== 'rejected')
        .map((r) => r.example.repository),
    ),
  ];
  await sweep(1);
  const marked = [];
  for (const name of managed) if (await markedStale(ecr, name)) marked.push(name);
  await sweep(2);
  const left = [];
  for (const name of managed) if (await repositoryExists(name)) left.push(name);
  const baseKept = await repositoryExists(BASE_IMAGE_REPOSITORY);
  say(
    `sweep: ${marked.length}/${managed.length} managed repositories marked, then ${managed.length - left.length} deleted`,
  );
  return {
    example: { title: 'stale-repository sweep (2 rounds)' } as Example,
    upload: `${managed.length} managed repositories + unmanaged ${BASE_IMAGE_REPOSITORY}`,
    expected: 'round 1 marks every managed repository, round 2 deletes them, the unmanaged one is kept',
    got: `marked ${marked.length}, deleted ${managed.length - left.length}, ${BASE_IMAGE_REPOSITORY} ${baseKept ? 'kept' : 'DELETED'}${sweepError ? `; ${sweepError}` : ''}`,
    ok: sweepError === '' && marked.length === managed.length && left.length === 0 && baseKept,
    detail: '',
  };
}

/** Does the repository carry the sweeper's stale-since tag? */
async function markedStale(ecr: ECRClient, name: string): Promise<boolean> {
  const repo = await ecr
    .send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))
    .catch(() => undefined);
  const arn = repo?.repositories?.[0]?.repositoryArn;
  const tags = arn ? (await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags : [];
  return tags?.some((tag) => tag.Key === REPOSITORY_TAGS.staleSince) ?? false;
}

/** Prints the results, then the notifications; 0 when every check passed and no invocation failed. */
function printSummary(demo: Demo, checks: DemoCheck[], slackBeforeSweep: number): number {
  const { cloud } = demo;
  const line = '-'.repeat(100);
  console.log(`\n${line}\nRESULTS\n${line}`);
  for (const r of checks) {
    console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.example.title}`);
    console.log(
      `      upload   ${r.upload}${r.seconds !== undefined ? `  (${r.seconds.toFixed(1)}s to outcome)` : ''}`,
    );
    console.log(`      expected ${r.expected}`);
    console.log(`      got      ${r.got}`);
    if (r.detail) console.log(`      ${r.detail}`);
  }
  console.log(
    `${line}\nNOTIFICATIONS (${cloud.sinks.slack.length} Slack, ${cloud.sinks.sns.length} SNS)\n${line}`,
  );
  printNotifications(cloud, slackBeforeSweep);
  const sweepOk = cloud.failures.length === 0;
  for (const f of cloud.failures) console.log(`FAILED invocation of ${f.functionName}: ${f.error}`);
  const passed = checks.filter((r) => r.ok).length;
  const allOk = passed === checks.length && checks.length > 0 && sweepOk;
  console.log(line);
  console.log(
    `${allOk ? 'OK' : 'NOT OK'}: ${passed}/${checks.length} outcomes as expected in ${elapsed().trim()}; ` +
      `cloud log ${demo.logFile}`,
  );
  return allOk ? 0 : 1;
}

/** One line per notification, in time order: the Slack message and its SNS twin share a title. */
function printNotifications(cloud: LocalCloud, slackBeforeSweep: number): void {
  const title = (text: string) =>
    text
      .replace(/^\[ecr-pipeline\]\s*/, '')
      .replace(/\s+/g, ' ')
      .trim();
  const sns = cloud.sinks.sns.map((m) => ({
    title: title(m.subject ?? m.message.split('\n')[0] ?? ''),
    used: false,
  }));
  const lines: Array<{ at: string; text: string }> = [];
  cloud.sinks.slack.forEach((m, i) => {
    const text = slackText(m.body).replace(/\s+/g, ' ').trim();
    const twin = sns.find((n) => !n.used && n.title !== '' && text.startsWith(n.title));
    if (twin) twin.used = true;
    const when = i >= slackBeforeSweep ? 'sweep ' : '';
    lines.push({
      at: m.receivedAt,
      text: `${when}${twin ? 'slack+sns' : 'slack    '}  ${text.slice(0, 110)}`,
    });
  });
  cloud.sinks.sns.forEach((m, i) => {
    if (sns[i]?.used) return;
    lines.push({ at: m.receivedAt, text: `sns        ${sns[i]?.title.slice(0, 110)}` });
  });
  for (const n of lines.sort((a, b) => a.at.localeCompare(b.at)))
    console.log(`${n.at.slice(11, 19)}  ${n.text}`);
}

/**
 * The line of the build-failed notification of `image` that holds `wanted` (the SNS message: the
 * Slack message carries the same text in its blocks); undefined if none came.
 */
async function notifiedLine(cloud: LocalCloud, image: string, wanted: string): Promise<string | undefined> {
  const pick = () =>
    cloud.sinks.sns
      .filter((m) => m.message.includes('Build failed') && m.message.includes(image))
      .flatMap((m) => m.message.split('\n'))
      .find((line) => line.includes(wanted))
      ?.trim();
  return cloud.sinks.waitFor(pick, 60_000).catch(() => undefined);
}

/**
 * `ecr-pipeline submit --fail-on` stops on a finding, when the local registry has a scanner to find
 * one (trivy or grype installed). Without one, the only results are moto's fixed ones: skipped, and
 * said plainly.
 */
async function failOnCheck(cloud: LocalCloud): Promise<DemoCheck> {
  const example = { title: 'submit --fail-on stops on a finding' } as Example;
  const scanner = findScanner();
  if (!scanner) {
    say('submit --fail-on: SKIPPED, no scanner (trivy or grype) is installed on this machine');
    return {
      example,
      upload: '-',
      expected: 'exit 4 with the findings at or above the severity',
      got: "skipped: no scanner (trivy or grype) is installed; the scan results here are moto's fixed ones (the release gate checks use them)",
      ok: true,
      detail: '',
    };
  }
  const state = join(cloud.dataDir, 'demo-cli.json');
  writeFileSync(
    state,
    JSON.stringify({
      endpoint: cloud.endpoint,
      region: cloud.region,
      bucket: cloud.bucket,
      projectName: cloud.projectName,
    }),
  );
  const cli = new URL('../cli/bin/ecr-pipeline.mjs', import.meta.url).pathname;
  const dir = new URL('../examples/copy-files', import.meta.url).pathname;
  const run = await execFileAsync(
    process.execPath,
    [
      cli,
      'submit',
      dir,
      '-r',
      'examples/scanned',
      '-t',
      'v1',
      '--local',
      '-q',
      '--fail-on',
      'LOW',
      '-o',
      'json',
    ],
    { env: { ...process.env, ECR_PIPELINE_LOCAL_STATE: state } },
  ).then(
    (out) => ({ code: 0, stdout: out.stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? '' }),
  );
  const result = JSON.parse(run.stdout || '{}') as { scan?: { counts?: Record<string, number> } };
  const counts = JSON.stringify(result.scan?.counts ?? {});
  say(`submit --fail-on LOW (${scanner.name}): exit ${run.code}, findings ${counts}`);
  return {
    example,
    upload: 'examples/scanned/v1.tar.gz',
    expected: `exit ${EXIT_SCAN_GATE} with the findings at or above LOW (${scanner.name})`,
    got: `exit ${run.code}, findings ${counts}`,
    ok: run.code === EXIT_SCAN_GATE,
    detail: '',
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
