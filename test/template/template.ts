/** Reading the packaged CloudFormation template (`npm run build && npm run package` writes it). */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';

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

/** A value as a deployment reads it: Fn::If resolved by the template's conditions (undefined: AWS::NoValue). */
export function resolve(template: Template, value: unknown): unknown {
  const fnIf = (value as { 'Fn::If'?: [string, unknown, unknown] } | undefined)?.['Fn::If'];
  const chosen = fnIf ? (holds(template, fnIf[0]) ? fnIf[1] : fnIf[2]) : value;
  return (chosen as { Ref?: string } | undefined)?.Ref === 'AWS::NoValue' ? undefined : chosen;
}

/** A statement list as a deployment reads it (each statement resolved, AWS::NoValue dropped). */
export function deployedStatements(template: Template, items: unknown[]): Statement[] {
  return items.map((item) => resolve(template, item) as Statement | undefined).filter((s) => s !== undefined);
}

/** The statements a deployment grants a role in its inline policies (deployedStatements). */
export function granted(template: Template, role: string): Statement[] {
  const policies = (resource(template, role).Properties?.Policies ?? []) as {
    PolicyDocument: { Statement: unknown[] };
  }[];
  return deployedStatements(
    template,
    policies.flatMap((p) => p.PolicyDocument.Statement),
  );
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

/** How long packaging (and cfn-lint) may take: each runs `serverless package` or cfn-lint once. */
export const PACKAGING_TIMEOUT_MS = 120_000;

/**
 * The template packaged with `params` for the tests of the enclosing describe block: packaged in
 * its beforeAll (packaging takes seconds), so its fields are there from the first test on.
 */
export function packagedWith(params: Record<string, string>): Template {
  // Filled in by beforeAll, before any test reads it.
  const template = {} as Template;
  beforeAll(() => {
    Object.assign(template, packageWith(params));
  }, PACKAGING_TIMEOUT_MS);
  return template;
}

/** The test that cfn-lint finds no error and no unexplained warning in `template`. */
export function itLintsClean(template: Template): void {
  it(
    'lints clean',
    () => {
      expect(lintFindings(template)).toEqual([]);
    },
    PACKAGING_TIMEOUT_MS,
  );
}

/** Warnings cfn-lint may report, each with its reason; any other finding is a failure. */
export const ALLOWED_LINT_WARNINGS: Record<string, string> = {
  W3005: 'Serverless adds DependsOn on a custom role it also references with Fn::GetAtt',
  W8003:
    'parameters are resolved at packaging, so Conditions compare constants (kept so the template reads as intent)',
};

/** cfn-lint's errors and unexplained warnings on a template, one line each (empty: clean). */
export function lintFindings(template: Template): string[] {
  // A copy: a concurrent packaging may be rewriting .serverless/.
  const copy = join(mkdtempSync(join(tmpdir(), 'cfn-lint-')), 'template.json');
  writeFileSync(copy, JSON.stringify(template, null, 2));
  const run = spawnSync('cfn-lint', ['--format', 'json', copy], { encoding: 'utf8' });
  if (run.error) throw new Error('cfn-lint must be installed (pip install cfn-lint)', { cause: run.error });
  const findings = JSON.parse(run.stdout || '[]') as {
    Level: string;
    Message: string;
    Rule: { Id: string };
  }[];
  return findings
    .filter((f) => f.Level === 'Error' || !(f.Rule.Id in ALLOWED_LINT_WARNINGS))
    .map((f) => `${f.Rule.Id} ${f.Message}`);
}

/** Whether a condition of a packaged template holds (its parameters are constants by then). */
export function holds(template: Template, name: string): boolean {
  const evaluate = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    const [[fn, args]] = Object.entries(node) as [[string, unknown]];
    const values = Array.isArray(args) ? args.map(evaluate) : evaluate(args);
    switch (fn) {
      case 'Fn::Equals':
        return (values as unknown[])[0] === (values as unknown[])[1];
      case 'Fn::Not':
        return !(values as unknown[])[0];
      case 'Fn::And':
        return (values as unknown[]).every(Boolean);
      case 'Fn::Or':
        return (values as unknown[]).some(Boolean);
      case 'Condition':
        return holds(template, args as string);
      default:
        throw new Error(`cannot evaluate ${fn} in condition ${name}`);
    }
  };
  const condition = template.Conditions?.[name];
  if (condition === undefined) throw new Error(`no condition ${name}`);
  return evaluate(condition) as boolean;
}

/** The resources a deployment of this packaged template creates (their conditions hold). */
export function created(template: Template): Record<string, Resource> {
  return Object.fromEntries(
    Object.entries(template.Resources).filter(([, r]) => !r.Condition || holds(template, r.Condition)),
  );
}
