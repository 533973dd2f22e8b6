// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not JavaScript templates
import { describe, expect, it } from 'vitest';
import {
  creationOrder,
  functionKey,
  physicalResource,
  type ResolveContext,
  resolve,
  type Template,
  TemplateError,
} from '../../../local/template.ts';

const ctx = (): ResolveContext => ({
  region: 'eu-west-1',
  stackName: 'ecr-pipeline-dev',
  resources: {
    Topic: { ref: 'arn:aws:sns:eu-west-1:123456789012:events', attributes: { TopicName: 'events' } },
    Fn: {
      ref: 'ecr-pipeline-dev-buildTrigger',
      attributes: { Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:ecr-pipeline-dev-buildTrigger' },
    },
  },
  parameters: { Stage: 'dev' },
});

describe('resolve', () => {
  it('resolves pseudo parameters, Ref and Fn::GetAtt in both forms', () => {
    expect(resolve({ Ref: 'AWS::AccountId' }, ctx())).toBe('123456789012');
    expect(resolve({ Ref: 'AWS::Region' }, ctx())).toBe('eu-west-1');
    expect(resolve({ Ref: 'AWS::Partition' }, ctx())).toBe('aws');
    expect(resolve({ Ref: 'Topic' }, ctx())).toBe('arn:aws:sns:eu-west-1:123456789012:events');
    expect(resolve({ Ref: 'Stage' }, ctx())).toBe('dev');
    expect(resolve({ 'Fn::GetAtt': ['Fn', 'Arn'] }, ctx())).toContain(
      ':function:ecr-pipeline-dev-buildTrigger',
    );
    expect(resolve({ 'Fn::GetAtt': 'Topic.TopicName' }, ctx())).toBe('events');
  });

  it('substitutes pseudo parameters, resources, attributes and local variables in Fn::Sub, keeping ${!literal}', () => {
    expect(resolve({ 'Fn::Sub': 'b-${AWS::AccountId}-${AWS::Region}' }, ctx())).toBe(
      'b-123456789012-eu-west-1',
    );
    expect(resolve({ 'Fn::Sub': '${Fn.Arn}|${Topic}' }, ctx())).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:ecr-pipeline-dev-buildTrigger|arn:aws:sns:eu-west-1:123456789012:events',
    );
    expect(resolve({ 'Fn::Sub': ['${Name}-x', { Name: { Ref: 'Stage' } }] }, ctx())).toBe('dev-x');
    expect(resolve({ 'Fn::Sub': '${!Literal}' }, ctx())).toBe('${Literal}');
  });

  it('joins, selects, splits and evaluates conditions', () => {
    const conditions = {
      IsDev: { 'Fn::Equals': [{ Ref: 'Stage' }, 'dev'] },
      NotDev: { 'Fn::Not': [{ Condition: 'IsDev' }] },
    };
    expect(resolve({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b']] }, ctx())).toBe(
      'arn:aws:s3:::b',
    );
    expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }, ctx())).toBe('b');
    expect(resolve({ 'Fn::If': ['IsDev', 'yes', 'no'] }, ctx(), conditions)).toBe('yes');
    expect(resolve({ 'Fn::If': ['NotDev', 'yes', 'no'] }, ctx(), conditions)).toBe('no');
  });

  it('drops properties and list items that are Ref AWS::NoValue', () => {
    expect(resolve({ A: 1, B: { Ref: 'AWS::NoValue' }, C: [1, { Ref: 'AWS::NoValue' }] }, ctx())).toEqual({
      A: 1,
      C: [1],
    });
  });

  it('refuses references it cannot resolve, naming them', () => {
    expect(() => resolve({ Ref: 'Missing' }, ctx())).toThrow(TemplateError);
    expect(() => resolve({ 'Fn::GetAtt': ['Topic', 'Nope'] }, ctx())).toThrow(/Topic\.Nope/);
    expect(() => resolve({ 'Fn::ImportValue': 'x' }, ctx())).toThrow(/Fn::ImportValue/);
  });
});

describe('creationOrder', () => {
  it('puts every resource after the resources it refers to or depends on', () => {
    const template: Template = {
      Resources: {
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: { Targets: [{ Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] } }] },
        },
        Bucket: { Type: 'AWS::S3::Bucket', Properties: { Name: { 'Fn::Sub': '${Fn.Arn}' } } },
        Fn: { Type: 'AWS::Lambda::Function', Properties: {}, DependsOn: 'Logs' },
        Logs: { Type: 'AWS::Logs::LogGroup' },
      },
    };
    const order = creationOrder(template);
    expect(order.indexOf('Logs')).toBeLessThan(order.indexOf('Fn'));
    expect(order.indexOf('Fn')).toBeLessThan(order.indexOf('Rule'));
    expect(order.indexOf('Fn')).toBeLessThan(order.indexOf('Bucket'));
    expect(order).toHaveLength(4);
  });

  it('refuses a circular reference', () => {
    const template: Template = {
      Resources: {
        A: { Type: 'X', Properties: { R: { Ref: 'B' } } },
        B: { Type: 'X', Properties: { R: { Ref: 'A' } } },
      },
    };
    expect(() => creationOrder(template)).toThrow(/circular/);
  });
});

describe('physical resources', () => {
  it('names them as CloudFormation does: Ref is the name, or the ARN for topics and secrets', () => {
    const c = { region: 'us-east-1', stackName: 's' };
    expect(physicalResource('B', { Type: 'AWS::S3::Bucket' }, { BucketName: 'b' }, c)).toEqual({
      ref: 'b',
      attributes: {
        Arn: 'arn:aws:s3:::b',
        DomainName: 'b.s3.amazonaws.com',
        RegionalDomainName: 'b.s3.us-east-1.amazonaws.com',
      },
    });
    expect(physicalResource('T', { Type: 'AWS::SNS::Topic' }, { TopicName: 't' }, c).ref).toBe(
      'arn:aws:sns:us-east-1:123456789012:t',
    );
    expect(physicalResource('R', { Type: 'AWS::Events::Rule' }, {}, c).attributes.Arn).toBe(
      'arn:aws:events:us-east-1:123456789012:rule/s-R',
    );
    expect(
      physicalResource('E', { Type: 'AWS::ECR::Repository' }, { RepositoryName: 'a/b' }, c).attributes
        .RepositoryUri,
    ).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b');
  });

  it('maps serverless logical ids back to function keys', () => {
    expect(functionKey('BuildTriggerLambdaFunction')).toBe('buildTrigger');
    expect(functionKey('EcrDashEventsLambdaFunction')).toBe('ecr-Events');
  });
});
