/** Starts and stops the real services the local cloud is made of: moto_server and the CNCF registry. */
import { type ChildProcess, type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

/** A child process with its log file; `stop()` ends it (SIGTERM, then SIGKILL) and waits for it to exit. */
export interface Service {
  name: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Throws with the install command when a tool the local cloud needs is missing. */
export function requireTools(): void {
  const missing: string[] = [];
  if (!has('moto_server')) missing.push("moto_server (pip install 'moto[server]')");
  if (!has('docker-registry')) missing.push('docker-registry (apt-get install docker-registry)');
  if (missing.length > 0) {
    throw new MissingToolError(
      `the local cloud needs: ${missing.join(', ')}; or run: node scripts/setup.mjs`,
    );
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves when something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode}`);
    if (await isListening(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A port nothing listens on now, chosen by the kernel (for the services only the local cloud talks to). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

/** Starts a child service, starting it again when it exits at once (its port was briefly taken). */
async function startWithRetry(start: () => Service, port: number): Promise<Service> {
  for (let attempt = 1; ; attempt++) {
    const service = start();
    try {
      await waitForPort(port, 30_000, service.process);
      return service;
    } catch (error) {
      await service.stop();
      if (attempt >= 5 || service.process.exitCode === null) throw error;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Resolves when nothing listens on the port any more (a stopped service freed it). */
export async function assertPortFree(port: number): Promise<void> {
  if (await isListening(port))
    throw new Error(`port ${port} on 127.0.0.1 is already in use: choose another basePort`);
}

/**
 * Runs `cmd args` in a process group of its own (so that a stop ends it and every process it made)
 * under a watch on its parent: the child's standard input is a pipe from this process that is never
 * written, and a watcher in the group waits for its end of file, which comes when this process ends
 * however it ends (SIGKILL, a runner's timeout, a crash), then ends the whole group, SIGTERM and
 * SIGKILL 3 s later. `cmd` replaces the shell (`exec`), so `child.pid` is its pid and the group's id.
 * `endGroup(child)` ends the group on purpose.
 */
export function spawnWatched(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcessByStdio<Writable, Readable, Readable> {
  const child = spawn('sh', ['-c', WATCH_PARENT, cmd, cmd, ...args], {
    ...options,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  // Nothing is ever written; the pipe only carries this process's death. An EPIPE after the group
  // ended is expected.
  child.stdin.on('error', () => {});
  return child;
}

/** Ends what is left of a watched child's group (its watcher, anything it left running). */
export function endGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// "$@" is the command. The watcher reads the pipe through fd 3 (a background job's own standard input
// is /dev/null), ignores SIGTERM so that it outlives the group's first signal and can follow with
// SIGKILL, and writes nowhere, so that it never holds the service's output pipes open.
const WATCH_PARENT = `exec 3<&0
(trap '' TERM; cat <&3 >/dev/null; kill -TERM 0; sleep 3; kill -KILL 0) >/dev/null 2>&1 &
exec "$@" </dev/null 3<&-`;

// Process groups still running; ended when this process exits, so a crashed test leaves no orphans.
const live = new Set<number>();
let exitHook = false;
function killLiveOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const pid of live) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function startService(
  name: string,
  cmd: string,
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): Service {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawnWatched(cmd, args, { env: env ?? process.env });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  if (child.pid) live.add(child.pid);
  killLiveOnExit();
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      if (child.pid) live.delete(child.pid);
      resolve();
    }),
  );
  return {
    name,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 3000);
        await exited;
        clearTimeout(timer);
      }
      endGroup(child);
      log.end();
    },
  };
}

/**
 * moto in server mode on 127.0.0.1:port: moto_server through local/moto-server.py: moto's own server with one fix of its ECR (PutImage of
 * an untagged image in a repository with tag-mutability exclusions answers 500 in moto 5.2.1).
 */
const MOTO_SERVER = fileURLToPath(new URL('./moto-server.py', import.meta.url));

/** Starts moto (see MOTO_SERVER). */
export async function startMoto(port: number, dataDir: string): Promise<Service> {
  return startWithRetry(
    () =>
      startService(
        'moto',
        'python3',
        [MOTO_SERVER, '-H', '127.0.0.1', '-p', String(port)],
        join(dataDir, 'moto.log'),
        {
          ...process.env,
          MOTO_ALLOW_NONEXISTENT_REGION: 'true',
        },
      ),
    port,
  );
}

/** The CNCF distribution registry with a generated config and its own storage folder. */
/** How a registry runs besides its defaults. */
export interface RegistryOptions {
  /** Proxy mode (a pull-through cache) of the registry at this URL; such a registry refuses pushes. */
  proxyOf?: string;
  /** Write an access line per request to its log (registry.log in dataDir). */
  accessLog?: boolean;
}

export async function startRegistry(
  port: number,
  dataDir: string,
  options: RegistryOptions = {},
): Promise<Service & { storage: string }> {
  const storage = join(dataDir, 'registry');
  mkdirSync(storage, { recursive: true });
  const config = join(dataDir, 'registry.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      `    disabled: ${options.accessLog !== true}`,
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(options.proxyOf ? ['proxy:', `  remoteurl: ${options.proxyOf}`] : []),
      '',
    ].join('\n'),
  );
  const service = startService(
    'registry',
    'docker-registry',
    ['serve', config],
    join(dataDir, 'registry.log'),
  );
  try {
    await waitForPort(port, 30_000, service.process);
  } catch (error) {
    await service.stop();
    throw error;
  }
  return { ...service, storage };
}
