/** The `ecr-pipeline` command: parses the command line, runs a command, prints errors with what to do. */
import { parseCommandLine } from './args.ts';
import { doctorCommand } from './doctor.ts';
import { type CliError, explain } from './errors.ts';
import { listCommand } from './list.ts';
import { lookupCommand } from './lookup.ts';
import { releaseCommand } from './release.ts';
import { replayCommand } from './replay.ts';
import { type Io, submit } from './submit.ts';
import { verifyCommand } from './verify.ts';
import { packageVersion } from './version.ts';

/** Runs one command line; returns the exit code. Never throws. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
      io.stdout.write(`ecr-pipeline ${packageVersion()}\n`);
      return 0;
    }
    const args = parseCommandLine(argv, io.env);
    if (args.command === 'help') {
      io.stdout.write(`${args.text}\n`);
      return 0;
    }
    if (args.command === 'submit') return await submit(args, io);
    if (args.command === 'replay') return await replayCommand(args, io);
    if (args.command === 'list') return await listCommand(args, io);
    if (args.command === 'doctor') return await doctorCommand(args, io);
    if (args.command === 'release') return await releaseCommand(args, io);
    if (args.command === 'verify') return await verifyCommand(args, io);
    return await lookupCommand(args, io);
  } catch (caught) {
    const error: CliError = explain(caught);
    io.stderr.write(`error: ${error.message}\n`);
    if (error.hint) io.stderr.write(`  -> ${error.hint}\n`);
    if (io.env.ECR_PIPELINE_DEBUG && error.cause)
      io.stderr.write(`${String((error.cause as Error).stack ?? error.cause)}\n`);
    return error.exitCode;
  }
}

/** Entry point for the launcher: real streams, Ctrl-C aborts, exit code set. */
export async function run(argv = process.argv.slice(2)): Promise<void> {
  // The SDK's notice about Node 20 support is for library authors, not for people running a command.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    // A second Ctrl-C leaves at once, as people expect.
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ninterrupting (Ctrl-C again to leave at once)...\n');
    controller.abort();
  });
  process.exitCode = await main(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  });
  // Finish writing, then leave even if an SDK socket lingers.
  process.stdout.write('', () => process.exit());
}
