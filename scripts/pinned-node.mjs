#!/usr/bin/env node
// Runs a command on the pinned Node.js (scripts/node-version.json), whatever Node.js started it:
// `node scripts/pinned-node.mjs <command> [args...]`. The pinned binary's folder goes first on
// PATH, so the command and everything it starts through `node`, `npm`, `npx` or a
// `#!/usr/bin/env node` script (vitest, tsx, stryker) run on it. package.json's test, demo,
// start, bench and mutate scripts go through here; the machine's Node.js may be older (CI has 20).
import { spawn } from 'node:child_process';
import { pinnedNodeEnv } from './node-runtime.mjs';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/pinned-node.mjs <command> [args...]');
  process.exit(2);
}

let env;
try {
  env = pinnedNodeEnv();
} catch (error) {
  console.error(`pinned-node: ${error.message}`);
  process.exit(1);
}

const child = spawn(command, args, { stdio: 'inherit', env });
// Ctrl-C reaches the whole foreground process group, the child included; a signal sent to this
// process alone is passed on, and this process ends when the child does.
const forward = (signal) => child.kill(signal);
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, forward);
process.on('SIGINT', () => {});
child.on('error', (error) => {
  console.error(`pinned-node: cannot run ${command}: ${error.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
