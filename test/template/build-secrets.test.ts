// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
/**
 * The build-session role may read build secrets under buildSecretsPrefix and nothing else
 * (docs/build-secrets.md), CodeBuild's own role none at all, measured on the packaged template. Each
 * build narrows the session role to the names its upload asked for (buildspec/session/secrets.ts).
 */
import { describe, expect, it } from 'vitest';
import { list, readTemplate, resource, roleStatements, statement } from './template.ts';

const template = readTemplate();
const PARAMETERS =
  'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/ecr-pipeline/dev/build-secrets/*';
const SECRETS =
  'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:/ecr-pipeline/dev/build-secrets/*';
const KEYS = 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*';

describe('build secrets in the template', () => {
  const statements = roleStatements(resource(template, 'BuildSessionRole'));

  it('lets the build read SSM parameters under the prefix only', () => {
    expect(statement(statements, 'BuildSecretParameters')).toEqual({
      Sid: 'BuildSecretParameters',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:GetParameters'],
      Resource: { 'Fn::Sub': PARAMETERS },
    });
  });

  it('lets the build read Secrets Manager secrets under the prefix only', () => {
    expect(statement(statements, 'BuildSecretSecrets')).toEqual({
      Sid: 'BuildSecretSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: { 'Fn::Sub': SECRETS },
    });
  });

  it('lets a key decrypt only through SSM or Secrets Manager, only for names under the prefix', () => {
    expect(statement(statements, 'BuildSecretParameterKeys')).toEqual({
      Sid: 'BuildSecretParameterKeys',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: { 'Fn::Sub': KEYS },
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' } },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': { 'Fn::Sub': PARAMETERS } },
      },
    });
    expect(statement(statements, 'BuildSecretSecretKeys')).toEqual({
      Sid: 'BuildSecretSecretKeys',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: { 'Fn::Sub': KEYS },
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
        StringLike: { 'kms:EncryptionContext:SecretARN': { 'Fn::Sub': SECRETS } },
      },
    });
  });

  it('grants the build no other SSM, Secrets Manager or KMS action', () => {
    const reading = statements.filter((s) =>
      list(s.Action).some((a) => /^(ssm|secretsmanager|kms):/.test(a)),
    );
    expect(reading.map((s) => s.Sid)).toEqual([
      'BuildSecretParameters',
      'BuildSecretSecrets',
      'BuildSecretParameterKeys',
      'BuildSecretSecretKeys',
    ]);
  });

  it("grants CodeBuild's own role no SSM, Secrets Manager or KMS action", () => {
    const own = roleStatements(resource(template, 'BuildRole'));
    expect(own.filter((s) => list(s.Action).some((a) => /^(ssm|secretsmanager|kms):/.test(a)))).toEqual([]);
  });

  it('tells the build its prefix as a plain project variable (a name, not a secret)', () => {
    const variables = resource(template, 'BuildProject').Properties?.Environment.EnvironmentVariables as {
      Name: string;
      Type: string;
      Value: unknown;
    }[];
    expect(variables).toContainEqual({
      Name: 'BUILD_SECRETS_PREFIX',
      Type: 'PLAINTEXT',
      Value: '/ecr-pipeline/dev/build-secrets/',
    });
  });
});
