/**
 * `npm start` (local/start.ts): comes up, prints how to use the local cloud, answers on the printed
 * endpoint, and on Ctrl-C (SIGINT to its process group, as a terminal sends it) stops every process it
 * started and frees every port. A start-up that fails leaves no process behind either.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, describe, expect, it } from 'vitest';
import { installBaseImage } from '../../local/base-image.ts';
import { startLocalCloud } from '../../local/cloud.ts';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'local-cloud-start-'));
let child: ChildProcess | undefined;

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

afterAll(() => {
  try {
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(work, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints the endpoints and how to upload, serves them, and stops everything on Ctrl-C', async () => {
    // `npm start` is `tsx local/start.ts`; run tsx itself, so that the exit code is the script's.
    const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
    child = spawn(
      process.execPath,
      [tsx, 'local/start.ts', '--skip-setup', '--base-port', '0', '--data-dir', work],
      {
        cwd: root,
        detached: true, // its own process group, like a foreground job in a terminal
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 600 && !output.includes('Ctrl-C stops everything.'); i++) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const endpoint = /AWS endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
    const registry = /registry\s+127\.0\.0\.1:(\d+)/.exec(output);
    const moto = /moto_server on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
    expect(endpoint && registry && moto).toBeTruthy();
    expect(output).toMatch(/export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(
      /aws s3 cp context\.tar\.gz s3:\/\/ecr-pipeline-dev-contexts-123456789012-us-east-1\//,
    );
    expect(output).toContain('podman login --username AWS --password-stdin --tls-verify=false');
    const ports = [endpoint, registry, moto].map((m) => Number(m?.[1]));
    for (const port of ports) expect(await listening(port)).toBe(true);
    const answer = await fetch(`http://127.0.0.1:${ports[0]}/`, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories',
        'content-type': 'application/x-amz-json-1.1',
        authorization:
          'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
    });
    expect(answer.status).toBe(200);

    process.kill(-(child.pid ?? 0), 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped; all ports are free');
    for (const port of ports) expect(await listening(port)).toBe(false);
  });
});

/** Pids of live (not zombie) processes whose command line contains `text`. */
function processesWith(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const state = /\) (\S)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1];
      if (cmdline.includes(text) && state !== 'Z') found.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return found;
}

/** Starts `local/start.ts` under `sh -c` (which stays its parent) and waits until it is up. */
async function startUnderShell(dataDir: string): Promise<{ shell: ChildProcess; output: () => string }> {
  // `; true` keeps sh from replacing itself with node: sh stays the parent, as npm is for `npm start`.
  const command = `'${process.execPath}' --import tsx local/start.ts --skip-setup --base-port 0 --data-dir '${dataDir}'; true`;
  const shell = spawn('sh', ['-c', command], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  shell.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  shell.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  for (let i = 0; i < 600 && !output.includes('Ctrl-C stops everything.'); i++) {
    if (shell.exitCode !== null) throw new Error(`start exited early:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { shell, output: () => output };
}

async function waitUntil(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

describe('a local cloud whose process is killed', () => {
  it('takes its moto server, registry and watchers with it when it is killed with SIGKILL', async () => {
    const dataDir = join(work, 'sigkill');
    const { shell, output } = await startUnderShell(dataDir);
    try {
      const motoPort = Number(/moto_server on http:\/\/127\.0\.0\.1:(\d+)/.exec(output())?.[1]);
      const services = [...processesWith(`-p ${motoPort}`), ...processesWith(join(dataDir, 'registry.yml'))];
      const [node] = processesWith(`--data-dir ${dataDir}`).filter((pid) => pid !== shell.pid);
      // moto (and its watcher), the registry (and its watcher) and the node process all run.
      expect(services.length).toBeGreaterThanOrEqual(4);
      expect(node).toBeDefined();
      process.kill(node as number, 'SIGKILL');
      expect(await waitUntil(() => services.every((pid) => !alive(pid)), 8000)).toBe(true);
      expect(await listening(motoPort)).toBe(false);
    } finally {
      killGroup(shell);
    }
  });

  it('stops everything by itself when its parent is killed with SIGKILL', async () => {
    const dataDir = join(work, 'orphan');
    const { shell, output } = await startUnderShell(dataDir);
    try {
      const motoPort = Number(/moto_server on http:\/\/127\.0\.0\.1:(\d+)/.exec(output())?.[1]);
      const gateway = Number(/AWS endpoint\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output())?.[1]);
      process.kill(shell.pid as number, 'SIGKILL');
      expect(await waitUntil(() => processesWith(`--data-dir ${dataDir}`).length === 0, 10_000)).toBe(true);
      const left = () => [
        ...processesWith(join(dataDir, 'registry.yml')),
        ...processesWith(`-p ${motoPort}`),
      ];
      expect(await waitUntil(() => left().length === 0, 5000)).toBe(true);
      expect(await listening(gateway)).toBe(false);
    } finally {
      killGroup(shell);
    }
  });
});

function alive(pid: number): boolean {
  try {
    const state = /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('startLocalCloud', () => {
  it('stops the services that came up when another one does not start', async () => {
    // moto starts for real (python3 local/moto-server.py); docker-registry never listens. Both note
    // their pids.
    const bin = join(work, 'bin');
    const pids = join(work, 'pids');
    mkdirSync(bin, { recursive: true });
    const python = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim();
    expect(python).not.toBe('');
    writeFileSync(join(bin, 'python3'), `#!/bin/sh\necho $$ >>'${pids}'\nexec '${python}' "$@"\n`, {
      mode: 0o755,
    });
    writeFileSync(join(bin, 'docker-registry'), `#!/bin/sh\necho $$ >>'${pids}'\nexec sleep 600\n`, {
      mode: 0o755,
    });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      await expect(startLocalCloud({ basePort: 0, dataDir: join(work, 'failing') })).rejects.toThrow(
        /nothing listens on 127\.0\.0\.1:\d+ after 30000 ms/,
      );
    } finally {
      process.env.PATH = path;
    }
    const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(started).toHaveLength(2);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(started.filter(alive)).toEqual([]);
  });

  it('waits for a scan on push that is still running when it stops', async () => {
    // A scanner that takes two seconds and notes when it is done.
    const bin = join(work, 'slow-scanner');
    const finished = join(work, 'scan-finished');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'trivy'), `#!/bin/sh\nsleep 2\ntouch '${finished}'\necho '{"Results":[]}'\n`, {
      mode: 0o755,
    });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const cloud = await startLocalCloud({
        basePort: 0,
        dataDir: join(work, 'scan'),
        scheduleIntervalMs: 0,
      });
      try {
        const ecr = new ECRClient({
          region: cloud.region,
          endpoint: cloud.endpoint,
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        });
        await ecr.send(
          new CreateRepositoryCommand({
            repositoryName: 'library/busybox',
            imageScanningConfiguration: { scanOnPush: true },
          }),
        );
        ecr.destroy();
        await installBaseImage(cloud); // the push starts the scan; the push answers before it ends
        expect(existsSync(finished)).toBe(false);
      } finally {
        await cloud.stop();
      }
      expect(existsSync(finished)).toBe(true);
    } finally {
      process.env.PATH = path;
    }
  });
});
