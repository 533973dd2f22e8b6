// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
import { beforeAll, describe, expect, it } from 'vitest';
import {
  created,
  holds,
  lintFindings,
  packageWith,
  readTemplate,
  resource,
  type Statement,
  statement,
  type Template,
} from './template.ts';

const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/ecr_pipeline';
const MANAGED = 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/team-a/*';

/** The statements a deployment grants the role: Fn::If resolved by the template's conditions. */
function granted(template: Template, role: string): Statement[] {
  const policies = resource(template, role).Properties?.Policies as {
    PolicyDocument: { Statement: unknown[] };
  }[];
  return policies
    .flatMap((p) => p.PolicyDocument.Statement)
    .flatMap((item) => {
      const fnIf = (item as { 'Fn::If'?: [string, unknown, unknown] })['Fn::If'];
      const chosen = fnIf ? (holds(template, fnIf[0]) ? fnIf[1] : fnIf[2]) : item;
      return (chosen as { Ref?: string }).Ref === 'AWS::NoValue' ? [] : [chosen as Statement];
    });
}

const projectVariable = (template: Template, name: string) =>
  (
    (resource(template, 'BuildProject').Properties?.Environment.EnvironmentVariables ?? []) as {
      Name: string;
      Value: unknown;
    }[]
  ).find((v) => v.Name === name);

const releaseEnv = (template: Template) =>
  resource(template, 'ReleaseLambdaFunction').Properties?.Environment.Variables as Record<string, unknown>;

describe('signing, off (the default)', () => {
  const template = readTemplate();

  it('creates no signing resource and grants no Signer or signing-status action to any role', () => {
    expect(created(template).RegistrySigning).toBeUndefined();
    expect(holds(template, 'Signs')).toBe(false);
    for (const role of [
      'BuildSessionRole',
      'ReleaseRole',
      'BuildRole',
      'BuildTriggerRole',
      'EcrEventsRole',
    ]) {
      const actions = JSON.stringify(granted(template, role).map((s) => s.Action));
      expect(actions, role).not.toContain('signer:');
      expect(actions, role).not.toContain('Signing');
    }
    expect(projectVariable(template, 'SIGNING_PROFILE_ARN')?.Value).toBe('');
    expect(releaseEnv(template).RELEASE_GATE).toBe('none');
    expect(granted(template, 'ReleaseRole').map((s) => s.Sid)).not.toContain('ReadSigningStatus');
  });
});

describe('signing with a profile, and a release gate that requires it', () => {
  let template: Template;
  beforeAll(() => {
    template = packageWith({
      repositoryPattern: 'team-a/*',
      signingProfileArn: PROFILE,
      releaseGate: 'signed',
    });
  }, 120_000);

  it('merges our signing rule through the registry-settings function', () => {
    const deployed = created(template);
    for (const id of ['RegistrySigning', 'RegistrySettingsRole', 'RegistrySettingsLambdaFunction'])
      expect(deployed[id], id).toBeDefined();
    expect(deployed.RegistryReplication).toBeUndefined();
    expect(deployed.RegistryScanning).toBeUndefined();
    expect(resource(template, 'RegistrySigning').Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': ['RegistrySettingsLambdaFunction', 'Arn'] },
      Setting: 'signing',
      RepositoryPattern: 'team-a/*',
      SigningProfileArn: PROFILE,
    });
  });

  it('lets the settings function read and write the signing configuration, and nothing else of the registry', () => {
    const statements = granted(template, 'RegistrySettingsRole');
    expect(statements.map((s) => s.Sid)).toEqual(['Logs', 'SigningConfiguration']);
    expect(statement(statements, 'SigningConfiguration')).toEqual({
      Sid: 'SigningConfiguration',
      Effect: 'Allow',
      Action: ['ecr:GetSigningConfiguration', 'ecr:PutSigningConfiguration'],
      Resource: '*',
    });
  });

  it('lets the build session sign with this profile only, and tells the build the profile', () => {
    const statements = granted(template, 'BuildSessionRole');
    expect(statement(statements, 'SignPushedImages')).toEqual({
      Sid: 'SignPushedImages',
      Effect: 'Allow',
      Action: 'signer:SignPayload',
      Resource: PROFILE,
    });
    expect(JSON.stringify(granted(template, 'BuildRole'))).not.toContain('signer:');
    expect(projectVariable(template, 'SIGNING_PROFILE_ARN')).toEqual({
      Name: 'SIGNING_PROFILE_ARN',
      Type: 'PLAINTEXT',
      Value: PROFILE,
    });
  });

  it("lets the release read the signing status of the stack's repositories only, and sign the indexes it pushes", () => {
    const statements = granted(template, 'ReleaseRole');
    expect(statement(statements, 'ReadSigningStatus')).toEqual({
      Sid: 'ReadSigningStatus',
      Effect: 'Allow',
      Action: 'ecr:DescribeImageSigningStatus',
      Resource: { 'Fn::Sub': MANAGED },
      Condition: { StringEquals: { 'ecr:ResourceTag/ecr-pipeline:managed-by': 'ecr-pipeline-dev' } },
    });
    expect(statement(statements, 'SignJoinedImages')).toMatchObject({
      Action: 'signer:SignPayload',
      Resource: PROFILE,
    });
    expect(releaseEnv(template).RELEASE_GATE).toBe('signed');
  });

  it('lints clean', () => {
    expect(lintFindings(template)).toEqual([]);
  }, 120_000);
});

describe('a signed release gate without a profile of the stack (a registry rule of your own)', () => {
  let template: Template;
  beforeAll(() => {
    template = packageWith({ releaseGate: 'scan,signed' });
  }, 120_000);

  it('reads the signing status, and creates no signing rule nor Signer grant', () => {
    expect(created(template).RegistrySigning).toBeUndefined();
    expect(granted(template, 'ReleaseRole').map((s) => s.Sid)).toContain('ReadSigningStatus');
    expect(releaseEnv(template).RELEASE_GATE).toBe('scan,signed');
    expect(JSON.stringify(granted(template, 'ReleaseRole'))).not.toContain('signer:');
    expect(JSON.stringify(granted(template, 'BuildSessionRole'))).not.toContain('signer:');
  });
});

describe('a scan gate alone', () => {
  it('reads no signing status', () => {
    const template = packageWith({ releaseGate: 'scan' });
    expect(releaseEnv(template).RELEASE_GATE).toBe('scan');
    expect(granted(template, 'ReleaseRole').map((s) => s.Sid)).not.toContain('ReadSigningStatus');
  }, 120_000);
});
