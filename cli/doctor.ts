/**
 * `ecr-pipeline doctor`: checks a deployed stack (or the local cloud) end to end without building:
 * the contexts bucket is there and versioned, its notifications send every context extension (and
 * .zip, to be refused) to the build-trigger function, the build project exists and can run Docker,
 * the functions are deployed, Slack and SNS reach someone or are said to be off, the registry scans
 * what the stack creates, the release gate can decide and the project's succeeded builds reach the
 * release function (doctor-settings.ts), and each role can do what it needs (doctor-roles.ts). Each finding says what is wrong and how to fix it. */
import { BatchGetProjectsCommand } from '@aws-sdk/client-codebuild';
import {
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  type NotificationConfiguration,
} from '@aws-sdk/client-s3';
import { CONTEXT_EXTENSIONS } from '../functions/shared/naming.ts';
import { probeRepository, roleNeeds, rolesCheck, simulator } from './doctor-roles.ts';
import {
  functionsCheck,
  readBuildRules,
  readSubscriptions,
  readWebhookStore,
  releaseGateCheck,
  releaseRuleCheck,
  scanningCheck,
  slackCheck,
  snsCheck,
} from './doctor-settings.ts';
import { explain } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { expectScan, readScanFacts } from './scan-plan.ts';
import { type FunctionKey, type FunctionSettings, functionName, readFunction } from './stack-functions.ts';
import type { Io } from './submit.ts';
import type { TargetFlags } from './target.ts';
import { resolveTarget, type Target } from './target.ts';

export interface DoctorArgs {
  command: 'doctor';
  output: 'text' | 'json';
  flags: TargetFlags;
}

/** One check: passed (ok), failed (with how to fix it), or only told (info). */
export interface Check {
  name: string;
  status: 'ok' | 'fail' | 'info';
  detail: string;
  fix?: string | undefined;
}

/** Suffixes the bucket must send to the build-trigger function: the contexts, and .zip to refuse. */
export function requiredSuffixes(): readonly string[] {
  return [...CONTEXT_EXTENSIONS, '.zip'];
}

/** How to put back what the stack defines. */
function redeploy(): string {
  return 'deploy the stack again (`npm run deploy -- --stage <stage>`); in the local cloud, restart `npm start`';
}

type Rule = { Name?: string | undefined; Value?: string | undefined };
type Target_ = {
  Events?: string[] | undefined;
  Filter?: { Key?: { FilterRules?: Rule[] | undefined } | undefined } | undefined;
};

/** The suffixes a notification configuration sends on object creation under `prefix` (Lambda or, in the local cloud, SQS). */
export function notifiedSuffixes(config: NotificationConfiguration, prefix: string): string[] {
  const targets: Target_[] = [
    ...(config.LambdaFunctionConfigurations ?? []),
    ...(config.QueueConfigurations ?? []),
  ];
  const suffixes: string[] = [];
  for (const target of targets) {
    if (!(target.Events ?? []).some((event) => event.startsWith('s3:ObjectCreated:'))) continue;
    const rules = target.Filter?.Key?.FilterRules ?? [];
    const value = (name: string) => rules.find((rule) => rule.Name?.toLowerCase() === name)?.Value ?? '';
    if (!prefix.startsWith(value('prefix'))) continue;
    suffixes.push(value('suffix'));
  }
  return suffixes;
}

/** The notification check: every suffix we build (and .zip) reaches the function. */
export function notificationCheck(config: NotificationConfiguration, prefix: string, bucket: string): Check {
  const sent = notifiedSuffixes(config, prefix);
  const missing = requiredSuffixes().filter((suffix) => !sent.some((s) => suffix.endsWith(s)));
  if (missing.length === 0)
    return {
      name: 'notifications',
      status: 'ok',
      detail: `s3://${bucket}/${prefix} sends ${requiredSuffixes().join(', ')} uploads to build-trigger`,
    };
  return {
    name: 'notifications',
    status: 'fail',
    detail: `uploads ending in ${missing.join(', ')} to s3://${bucket}/${prefix} reach no function: they would be ignored in silence`,
    fix: `the bucket's event notifications were changed outside the stack; ${redeploy()}`,
  };
}

async function bucketChecks(target: Target): Promise<Check[]> {
  const { s3 } = target.clients;
  const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: target.bucket }));
  const checks: Check[] = [
    versioning.Status === 'Enabled'
      ? { name: 'bucket', status: 'ok', detail: `s3://${target.bucket} exists, versioned` }
      : {
          name: 'bucket',
          status: 'fail',
          detail: `s3://${target.bucket} is not versioned (${versioning.Status ?? 'never enabled'}): an upload over another loses the first`,
          fix: `aws s3api put-bucket-versioning --bucket ${target.bucket} --versioning-configuration Status=Enabled, or ${redeploy()}`,
        },
  ];
  const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: target.bucket }));
  checks.push(notificationCheck(config, target.prefix, target.bucket));
  return checks;
}

/** The project check, and the project's service role (for the roles check). */
async function projectCheck(target: Target): Promise<{ check: Check; serviceRole?: string | undefined }> {
  if (!target.project)
    return {
      check: {
        name: 'project',
        status: 'fail',
        detail: 'the build project is not known',
        fix: 'pass --project or --stack (the stack output BuildProjectName)',
      },
    };
  const { projects = [] } = await target.clients.codebuild.send(
    new BatchGetProjectsCommand({ names: [target.project] }),
  );
  const project = projects[0];
  if (!project)
    return {
      check: {
        name: 'project',
        status: 'fail',
        detail: `no CodeBuild project ${target.project}`,
        fix: `check --stack and --region; ${redeploy()}`,
      },
    };
  const serviceRole = project.serviceRole;
  if (project.environment?.privilegedMode !== true)
    return {
      serviceRole,
      check: {
        name: 'project',
        status: 'fail',
        detail: `the project ${target.project} runs without privileged mode: Docker builds cannot start`,
        fix: redeploy(),
      },
    };
  return {
    serviceRole,
    check: {
      name: 'project',
      status: 'ok',
      detail: `${target.project} (${project.environment?.computeType ?? '?'}, ${project.environment?.image ?? '?'}, role ${serviceRole?.split('/').pop() ?? '?'})`,
    },
  };
}

/** The stack's functions, by key, as far as they exist. */
async function readFunctions(target: Target, project: string) {
  const keys: readonly FunctionKey[] = ['buildTrigger', 'ecrEvents', 'release'];
  const names = Object.fromEntries(keys.map((key) => [key, functionName(project, key)])) as Record<
    FunctionKey,
    string
  >;
  const found: Partial<Record<FunctionKey, FunctionSettings>> = {};
  for (const key of keys) {
    const settings = await readFunction(target.clients, names[key]);
    if (settings) found[key] = settings;
  }
  return { names, found };
}

/** Slack and SNS, from the ecr-events function's settings. */
async function notificationChecks(target: Target, env: Record<string, string>): Promise<Check[]> {
  const slack = slackCheck(env, await readWebhookStore(target.clients, env));
  const topic = env.SNS_TOPIC_ARN;
  const subscriptions = topic ? await readSubscriptions(target.clients, topic) : undefined;
  return [slack, snsCheck(env, subscriptions, slack.status === 'ok')];
}

/** Scanning and the release gate, from build-trigger's and the release function's settings. */
async function scanChecks(
  target: Target,
  found: Partial<Record<FunctionKey, FunctionSettings>>,
): Promise<Check[]> {
  const repository = probeRepository(found.buildTrigger?.env.REPOSITORY_PATTERN);
  const { scanType, rules } = await readScanFacts(target.clients, repository);
  const scanOnPush = found.buildTrigger?.env.SCAN_ON_PUSH;
  const expected = expectScan(repository, {
    scanType,
    rules,
    stackScanOnPush: scanOnPush === undefined ? undefined : scanOnPush.toLowerCase() === 'true',
    localScanner: target.localScanner,
  });
  return [
    scanningCheck(expected, scanType),
    ...(found.release ? [releaseGateCheck(found.release.env, expected)] : []),
  ];
}

/** Runs every check; a failing call becomes a failed check, the others still run. */
export async function runChecks(target: Target): Promise<Check[]> {
  const guarded = async (name: string, run: () => Promise<Check[]>): Promise<Check[]> => {
    try {
      return await run();
    } catch (error) {
      const explained = explain(error, {
        bucket: target.bucket,
        endpoint: target.endpoint,
        local: target.local,
      });
      return [{ name, status: 'fail', detail: explained.message, fix: explained.hint }];
    }
  };
  const checks = await guarded('bucket', () => bucketChecks(target));
  let serviceRole: string | undefined;
  checks.push(
    ...(await guarded('project', async () => {
      const project = await projectCheck(target);
      serviceRole = project.serviceRole;
      return [project.check];
    })),
  );
  const project = target.project;
  if (!project) return checks;
  let found: Partial<Record<FunctionKey, FunctionSettings>> = {};
  checks.push(
    ...(await guarded('functions', async () => {
      const read = await readFunctions(target, project);
      found = read.found;
      return [functionsCheck(read.names, read.found)];
    })),
  );
  const events = found.ecrEvents?.env;
  if (events) checks.push(...(await guarded('notifications', () => notificationChecks(target, events))));
  checks.push(...(await guarded('scanning', () => scanChecks(target, found))));
  const release = found.release;
  if (release) {
    const read = async () => [releaseRuleCheck(await readBuildRules(target.clients), project, release.name)];
    checks.push(...(await guarded('release rule', read)));
  }
  const scope = { region: target.region, bucket: target.bucket, prefix: target.prefix, project };
  checks.push(await rolesCheck(roleNeeds(scope, found, serviceRole), simulator(target.clients)));
  return checks;
}

/** Runs `doctor`; exits 0 when every check passed, 1 otherwise. */
export async function doctorCommand(args: DoctorArgs, io: Io): Promise<number> {
  const target = await resolveTarget(args.flags, io.env);
  const checks = await runChecks(target);
  const failed = checks.filter((check) => check.status === 'fail').length;
  const exitCode = failed === 0 ? EXIT.success : EXIT.failed;
  if (args.output === 'json') {
    io.stdout.write(`${JSON.stringify({ exitCode, checks })}\n`);
    return exitCode;
  }
  for (const check of checks) {
    const mark = check.status === 'ok' ? 'ok  ' : check.status === 'fail' ? 'FAIL' : 'info';
    io.stdout.write(`${mark}  ${check.name.padEnd(13)} ${check.detail}\n`);
    if (check.fix) io.stdout.write(`      ${''.padEnd(13)} -> ${check.fix}\n`);
  }
  io.stdout.write(failed === 0 ? 'no problem found\n' : `${failed} problem${failed > 1 ? 's' : ''} found\n`);
  return exitCode;
}
