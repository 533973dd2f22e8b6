/**
 * `ecr-pipeline submit` packing and uploading: a context of 10,000 files (mostly incompressible),
 * streamed as tar -> gzip -> multipart Upload into a moto S3, against `tar czf` of the same folder
 * in the same run. Each measurement runs in a child process so that its peak memory (maxRSS) is
 * its own; two context sizes with the same file count show whether memory grows with the size.
 *
 * Run alone: `npx tsx bench/run.ts submit`.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, type Service, startMoto } from '../local/processes.ts';
import type { Row } from './types.ts';

// A port the kernel picks (a fixed one in the ephemeral range can be held by another program); the
// measuring children, this file run again, take the parent's from the environment.
const PORT = Number(process.env.ECR_PIPELINE_BENCH_MOTO_PORT) || (await freePort());
process.env.ECR_PIPELINE_BENCH_MOTO_PORT = String(PORT);
const endpoint = `http://127.0.0.1:${PORT}`;
const BUCKET = 'bench-contexts';
const FILES = 10_000;
const SIZES_MB = [50, 200];
const self = fileURLToPath(import.meta.url);

interface ChildResult {
  ms: number;
  /** CPU of the whole process (all threads) during the measurement. */
  cpuMs: number;
  inputBytes: number;
  outputBytes: number;
  maxRssKiB: number;
}

/** Child mode: pack (and upload, unless `pack-only`) one folder; prints a ChildResult as JSON. */
async function child(mode: 'upload' | 'pack-only' | 'baseline', dir: string): Promise<void> {
  const { planContext, packContext } = await import('../cli/context.ts');
  const { uploadContext } = await import('../cli/upload.ts');
  const { S3Client } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  if (mode === 'baseline') {
    const result = {
      ms: 0,
      cpuMs: 0,
      inputBytes: 0,
      outputBytes: 0,
      maxRssKiB: process.resourceUsage().maxRSS,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  const plan = await planContext({ dir, maxFiles: 100_000, maxBytes: 4 * 1024 ** 3 });
  const progress = { tarBytes: 0, gzipBytes: 0 };
  const body = packContext(plan, progress);
  if (mode === 'upload') {
    await uploadContext({
      s3,
      bucket: BUCKET,
      key: `bench/${plan.files}-${plan.bytes}.tar.gz`,
      body,
      metadata: {},
    });
  } else {
    await pipeline(body, new Writable({ write: (_chunk, _encoding, done) => done() }));
  }
  const used = process.cpuUsage(cpu);
  const result: ChildResult = {
    ms: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    inputBytes: plan.bytes,
    outputBytes: progress.gzipBytes,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(mode: 'upload' | 'pack-only' | 'baseline', dir: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const tsx = join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '.bin', 'tsx');
    const proc = spawn(tsx, [self, '--child', mode, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench child exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult);
    });
  });
}

/** `tar czf` of the folder to a file: wall time, and the CPU of tar and gzip (the shell's reaped children). */
async function tarCzf(dir: string, out: string): Promise<{ ms: number; cpuMs: number }> {
  const started = performance.now();
  const { stdout } = await promisify(execFile)('sh', [
    '-c',
    'tar czf "$1" -C "$2" . && cat /proc/$$/stat',
    'sh',
    out,
    dir,
  ]);
  const ms = performance.now() - started;
  const fields = stdout.split(') ')[1]?.split(' ') ?? [];
  return { ms, cpuMs: ((Number(fields[13]) + Number(fields[14])) / 100) * 1000 || Number.NaN };
}

function makeContext(root: string, totalMb: number): string {
  const dir = join(root, `ctx-${totalMb}mb`);
  const perFile = Math.floor((totalMb * 1024 * 1024) / FILES);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY . /data\n');
  for (let i = 0; i < FILES - 1; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub);
    // Mostly incompressible, like images, archives and binaries in real contexts; a little text.
    const data = i % 10 === 0 ? Buffer.from('x'.repeat(perFile)) : randomBytes(perFile);
    writeFileSync(join(sub, `f${i}.bin`), data);
  }
  return dir;
}

/** moto as the local cloud starts it, with the bucket the children upload to. */
async function startMotoWithBucket(dataDir: string): Promise<Service> {
  const moto = await startMoto(PORT, dataDir);
  await fetch(`${endpoint}/${BUCKET}`, { method: 'PUT' });
  return moto;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

/** CPU seconds a process has used so far (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export default async function bench(): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), 'submit-bench-'));
  const moto = await startMotoWithBucket(root);
  const rows: Row[] = [];
  const name = 'submit';
  try {
    const rss: Record<number, number> = {};
    for (const size of SIZES_MB) {
      const dir = makeContext(root, size);
      const label = `${FILES} files, ${size} MB`;
      // tar first and ours second, then the other way round: the page cache is warm for both.
      const tar1 = await tarCzf(dir, join(root, `ref-${size}.tgz`));
      const motoBefore = cpuSeconds(moto.process.pid);
      const upload = await runChild('upload', dir);
      const motoCpu = cpuSeconds(moto.process.pid) - motoBefore;
      const packOnly = await runChild('pack-only', dir);
      const tar2 = await tarCzf(dir, join(root, `ref-${size}.tgz`));
      const tar = Math.min(tar1.ms, tar2.ms);
      const tarCpu = Math.min(tar1.cpuMs, tar2.cpuMs);
      rss[size] = upload.maxRssKiB / 1024;
      if (size === Math.max(...SIZES_MB)) {
        rows.push(
          {
            benchmark: name,
            metric: `pack+upload to moto S3 (${label})`,
            value: `${(upload.ms / 1000).toFixed(2)} s`,
          },
          {
            benchmark: name,
            metric: 'throughput (context bytes / s)',
            value: `${(mb(upload.inputBytes) / (upload.ms / 1000)).toFixed(1)} MB/s`,
          },
          { benchmark: name, metric: '`tar czf` of the same folder', value: `${(tar / 1000).toFixed(2)} s` },
          {
            benchmark: name,
            metric: 'pack+upload time / tar czf time',
            value: `${(upload.ms / tar).toFixed(2)}x`,
            goal: '<= 1.5x',
          },
          {
            benchmark: name,
            metric: 'CPU time: pack+upload / tar czf (all threads)',
            value: `${(upload.cpuMs / 1000).toFixed(2)} s / ${(tarCpu / 1000).toFixed(2)} s = ${(upload.cpuMs / tarCpu).toFixed(2)}x`,
          },
          {
            benchmark: name,
            metric: 'CPU moto_server spent receiving it (same 2 cores)',
            value: `${motoCpu.toFixed(2)} s`,
          },
          {
            benchmark: name,
            metric: 'pack only (to nothing) / tar czf time',
            value: `${(packOnly.ms / tar).toFixed(2)}x (CPU ${(packOnly.cpuMs / tarCpu).toFixed(2)}x)`,
          },
          {
            benchmark: name,
            metric: 'compressed / context bytes',
            value: `${((100 * upload.outputBytes) / upload.inputBytes).toFixed(1)} %`,
          },
        );
      }
      rmSync(dir, { recursive: true, force: true });
    }
    const [small, large] = SIZES_MB as [number, number];
    const baseline = (await runChild('baseline', root)).maxRssKiB / 1024;
    rows.push(
      {
        benchmark: name,
        metric: 'RSS of the same child with the modules loaded, nothing packed',
        value: `${baseline.toFixed(0)} MiB`,
      },
      {
        benchmark: name,
        metric: `peak RSS, pack+upload ${small} MB / ${large} MB`,
        value: `${(rss[small] ?? 0).toFixed(0)} MiB / ${(rss[large] ?? 0).toFixed(0)} MiB`,
        goal: 'flat in context size',
      },
      {
        benchmark: name,
        metric: `peak RSS growth for ${large / small}x the context`,
        value: `${((rss[large] ?? 0) - (rss[small] ?? 0)).toFixed(0)} MiB`,
      },
    );
  } finally {
    await moto.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as 'upload' | 'pack-only' | 'baseline', process.argv[4] ?? '.');
}
