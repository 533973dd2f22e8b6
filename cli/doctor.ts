/**
 * `ecr-pipeline doctor`: checks a deployed stack (or the local cloud) end to end without building:
 * the contexts bucket is there and versioned, its notifications send every context extension (and
 * .zip, to be refused) to the build-trigger function, the build project exists and can run Docker,
 * and what the registry scans. Each finding says what is wrong and how to fix it.
 */
import { BatchGetProjectsCommand } from '@aws-sdk/client-codebuild';
import { GetRegistryScanningConfigurationCommand } from '@aws-sdk/client-ecr';
import {
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  type NotificationConfiguration,
} from '@aws-sdk/client-s3';
import { CONTEXT_EXTENSIONS } from '../functions/shared/naming.ts';
import { explain } from './errors.ts';
import { EXIT } from './exit-codes.ts';
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
export const NOTIFIED_SUFFIXES = [...CONTEXT_EXTENSIONS, '.zip'] as const;

const REDEPLOY =
  'deploy the stack again (`npm run deploy -- --stage <stage>`); in the local cloud, restart `npm start`';

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
  const missing = NOTIFIED_SUFFIXES.filter((suffix) => !sent.some((s) => suffix.endsWith(s)));
  if (missing.length === 0)
    return {
      name: 'notifications',
      status: 'ok',
      detail: `s3://${bucket}/${prefix} sends ${NOTIFIED_SUFFIXES.join(', ')} uploads to build-trigger`,
    };
  return {
    name: 'notifications',
    status: 'fail',
    detail: `uploads ending in ${missing.join(', ')} to s3://${bucket}/${prefix} reach no function: they would be ignored in silence`,
    fix: `the bucket's event notifications were changed outside the stack; ${REDEPLOY}`,
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
          fix: `aws s3api put-bucket-versioning --bucket ${target.bucket} --versioning-configuration Status=Enabled, or ${REDEPLOY}`,
        },
  ];
  const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: target.bucket }));
  checks.push(notificationCheck(config, target.prefix, target.bucket));
  return checks;
}

async function projectCheck(target: Target): Promise<Check> {
  if (!target.project)
    return {
      name: 'project',
      status: 'fail',
      detail: 'the build project is not known',
      fix: 'pass --project or --stack (the stack output BuildProjectName)',
    };
  const { projects = [] } = await target.clients.codebuild.send(
    new BatchGetProjectsCommand({ names: [target.project] }),
  );
  const project = projects[0];
  if (!project)
    return {
      name: 'project',
      status: 'fail',
      detail: `no CodeBuild project ${target.project}`,
      fix: `check --stack and --region; ${REDEPLOY}`,
    };
  if (project.environment?.privilegedMode !== true)
    return {
      name: 'project',
      status: 'fail',
      detail: `the project ${target.project} runs without privileged mode: Docker builds cannot start`,
      fix: REDEPLOY,
    };
  return {
    name: 'project',
    status: 'ok',
    detail: `${target.project} (${project.environment?.computeType ?? '?'}, ${project.environment?.image ?? '?'}, role ${project.serviceRole?.split('/').pop() ?? '?'})`,
  };
}

async function scanningCheck(target: Target): Promise<Check> {
  try {
    const { scanningConfiguration } = await target.clients.ecr.send(
      new GetRegistryScanningConfigurationCommand({}),
    );
    const type = scanningConfiguration?.scanType ?? 'BASIC';
    return {
      name: 'scanning',
      status: 'info',
      detail: `registry scanning ${type}${type === 'BASIC' ? ' (each repository this stack creates scans on push, unless scanOnPush=false)' : ' (Amazon Inspector)'}`,
    };
  } catch (error) {
    return {
      name: 'scanning',
      status: 'info',
      detail: `registry scanning unknown: ${(error as Error).name}`,
    };
  }
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
  return [
    ...(await guarded('bucket', () => bucketChecks(target))),
    ...(await guarded('project', async () => [await projectCheck(target)])),
    await scanningCheck(target),
  ];
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
