/** Reading the packaged CloudFormation template (`npm run build && npm run package` writes it). */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const TEMPLATE = `${root}.serverless/cloudformation-template-update-stack.json`;

export interface Resource {
  Type: string;
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON, walked by the tests
  Properties?: Record<string, any>;
  DependsOn?: string | string[];
  Condition?: string;
}
export interface Template {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

export function readTemplate(path = TEMPLATE): Template {
  if (!existsSync(path))
    throw new Error(`${path} is missing: run \`npm run build && npm run package\` first`);
  return JSON.parse(readFileSync(path, 'utf8')) as Template;
}

export function resource(template: Template, logicalId: string): Resource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

/** The statement with this Sid. */
export function statement(statements: Statement[], sid: string): Statement {
  const found = statements.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}

export const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of a role's inline policies, with Fn::If branches flattened (AWS::NoValue dropped). */
export function roleStatements(role: Resource): Statement[] {
  const policies = (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[];
  return policies.flatMap((policy) => flattenIfs(policy.PolicyDocument.Statement));
}

function flattenIfs(items: unknown[]): Statement[] {
  return items.flatMap((item) => {
    const fnIf = (item as { 'Fn::If'?: unknown[] })['Fn::If'];
    if (!fnIf) return [item as Statement];
    return fnIf.slice(1).filter((branch) => !(branch as { Ref?: string }).Ref) as Statement[];
  });
}

/** Every IAM statement in the template: role policies, managed and inline policy resources. */
export function allStatements(template: Template): { owner: string; statement: Statement }[] {
  return Object.entries(template.Resources).flatMap(([id, res]) => {
    if (res.Type === 'AWS::IAM::Role')
      return roleStatements(res).map((statement) => ({ owner: id, statement }));
    if (res.Type === 'AWS::IAM::Policy' || res.Type === 'AWS::IAM::ManagedPolicy') {
      const doc = res.Properties?.PolicyDocument as { Statement: unknown[] };
      return flattenIfs(doc.Statement).map((statement) => ({ owner: id, statement }));
    }
    return [];
  });
}

/**
 * Packages the stack with `--param` overrides and returns its template. It packages a copy of the
 * service folder (links to the real files), because `serverless package` empties `.serverless/` of
 * the folder it runs in, even with `--package <elsewhere>`, under the feet of other test files.
 */
export function packageWith(params: Record<string, string>): Template {
  const dir = mkdtempSync(join(tmpdir(), 'ecr-pipeline-package-'));
  copyFileSync(join(root, 'serverless.yml'), join(dir, 'serverless.yml'));
  for (const name of ['resources', 'buildspec', 'dist', 'node_modules', 'package.json']) {
    symlinkSync(join(root, name), join(dir, name));
  }
  const run = spawnSync(
    join(root, 'node_modules', '.bin', 'serverless'),
    ['package', ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`)],
    {
      cwd: dir,
      encoding: 'utf8',
      env: {
        AWS_ACCESS_KEY_ID: 'packaging-needs-no-credentials',
        AWS_SECRET_ACCESS_KEY: 'packaging-needs-no-credentials',
        AWS_REGION: 'us-east-1',
        ...process.env,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
    },
  );
  if (run.status !== 0) throw new Error(`packaging failed: ${run.stdout}${run.stderr}`);
  return readTemplate(join(dir, '.serverless', 'cloudformation-template-update-stack.json'));
}
