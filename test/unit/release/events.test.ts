import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/release/config.ts';
import { isRecordKey, parseInput, repositoryName } from '../../../functions/release/events.ts';
import { BUCKET, BUILD_ID, DIGEST, DURATIONS, fixture, KEY, PROJECT, VERSION } from './helpers.ts';

const config = loadConfig({ CONTEXT_BUCKET: BUCKET, BUILD_PROJECT: PROJECT, EVENT_BUS_NAME: 'bus' });
type Vars = { name: string; value: string }[];
const envOf = (e: ReturnType<typeof fixture>) =>
  (e.detail['additional-information'] as { environment: { 'environment-variables': Vars } }).environment;

describe('parseInput', () => {
  it("reads the upload and the exported digest of the stack's succeeded build", () => {
    expect(parseInput(fixture('codebuild/build-succeeded-exported.json'), config)).toEqual({
      kind: 'build-succeeded',
      buildId: BUILD_ID,
      identity: { bucket: BUCKET, key: KEY, versionId: VERSION, eTag: '9b2cf535f27731c974343645a3985328' },
      digest: DIGEST,
      durations: DURATIONS,
    });
    const bare = parseInput(fixture('codebuild/build-succeeded.json'), {
      ...config,
      bucket: 'ecr-pipeline-dev-contexts-123456789012-us-west-2',
    });
    expect(bare).toMatchObject({ kind: 'build-succeeded' });
    expect(bare).not.toHaveProperty('digest');
  });

  it('reads what the build attached from its exported IMAGE_ATTESTATIONS, only the names it knows, each once', () => {
    const e = fixture('codebuild/build-succeeded-exported.json');
    const info = e.detail['additional-information'] as { 'exported-environment-variables': Vars };
    info['exported-environment-variables'].push({
      name: 'IMAGE_ATTESTATIONS',
      value: 'provenance,signed,sbom,sbom',
    });
    expect(parseInput(e, config)).toMatchObject({
      kind: 'build-succeeded',
      attestations: ['sbom', 'provenance'],
    });
    info['exported-environment-variables'].splice(-1, 1, { name: 'IMAGE_ATTESTATIONS', value: 'signed' });
    expect(parseInput(e, config)).not.toHaveProperty('attestations');
  });

  it('ignores builds that are not a success of this stack for an upload of its bucket', () => {
    const cases: [string, (e: ReturnType<typeof fixture>) => void][] = [
      [
        'build status FAILED',
        (e) => {
          e.detail['build-status'] = 'FAILED';
        },
      ],
      [
        'build status missing',
        (e) => {
          delete e.detail['build-status'];
        },
      ],
      [
        'a build of another project (other)',
        (e) => {
          e.detail['project-name'] = 'other';
        },
      ],
      [
        'a build event without build-id',
        (e) => {
          delete e.detail['build-id'];
        },
      ],
      [
        'a build of no upload of this stack',
        (e) => {
          envOf(e)['environment-variables'][0] = { name: 'CONTEXT_BUCKET', value: 'other-bucket' };
        },
      ],
      [
        'a build of no upload of this stack',
        (e) => {
          envOf(e)['environment-variables'] = envOf(e)['environment-variables'].filter(
            (v) => v.name !== 'CONTEXT_KEY',
          );
        },
      ],
      [
        'a build of no upload of this stack',
        (e) => {
          delete (e.detail['additional-information'] as Record<string, unknown>).environment;
        },
      ],
      [
        'a build of a key outside the uploads',
        (e) => {
          envOf(e)['environment-variables'][1] = {
            name: 'CONTEXT_KEY',
            value: '.ecr-pipeline/uploads/x.json',
          };
        },
      ],
    ];
    for (const [why, change] of cases) {
      const e = fixture('codebuild/build-succeeded-exported.json');
      change(e);
      expect(parseInput(e, config)).toEqual({ kind: 'ignore', why });
    }
    const prefixed = { ...config, keyPrefix: 'builds/' };
    expect(parseInput(fixture('codebuild/build-succeeded-exported.json'), prefixed)).toEqual({
      kind: 'ignore',
      why: 'a build of a key outside the uploads',
    });
  });

  it('reads the upload of a build whatever else its variables hold; an empty version is no version', () => {
    const e = fixture('codebuild/build-succeeded-exported.json');
    const vars = envOf(e)['environment-variables'] as unknown[];
    vars.unshift(null, 'CONTEXT_KEY', ['CONTEXT_KEY', 'x']);
    for (const v of vars as Vars) if (v?.name === 'CONTEXT_VERSION_ID') v.value = '';
    const input = parseInput(e, config);
    expect(input).toMatchObject({ kind: 'build-succeeded', identity: { bucket: BUCKET, key: KEY } });
    expect(input.kind === 'build-succeeded' && input.identity.versionId).toBeUndefined();
  });

  it('ignores a build event without its additional information, and a detail that is a list', () => {
    const e = fixture('codebuild/build-succeeded-exported.json');
    delete e.detail['additional-information'];
    expect(parseInput(e, config)).toEqual({ kind: 'ignore', why: 'a build of no upload of this stack' });
    const listed = fixture('codebuild/build-succeeded-exported.json');
    listed.detail['additional-information'] = [listed.detail['additional-information']];
    expect(parseInput(listed, config)).toEqual({ kind: 'ignore', why: 'a build of no upload of this stack' });
    const scan = fixture('ecr/image-scan-complete.json') as Record<string, unknown>;
    scan.detail = [scan.detail];
    expect(parseInput(scan, config)).toEqual({ kind: 'ignore', why: 'not an event this function handles' });
  });

  it('reads basic and enhanced scan results, the enhanced one by the repository in its ARN', () => {
    expect(parseInput(fixture('ecr/image-scan-complete.json'), config)).toEqual({
      kind: 'scan',
      repository: 'team/web',
      digest: DIGEST,
      status: 'COMPLETE',
      counts: { CRITICAL: 10, MEDIUM: 9 },
    });
    expect(parseInput(fixture('inspector/scan-initial-complete.json'), config)).toMatchObject({
      kind: 'scan',
      repository: 'team/web',
      status: 'INITIAL_SCAN_COMPLETE',
      counts: { CRITICAL: 7, HIGH: 61, MEDIUM: 62 },
    });
  });

  it('ignores a scan without a proper digest', () => {
    const e = fixture('ecr/image-scan-complete.json');
    e.detail['image-digest'] = 'sha256:short';
    expect(parseInput(e, config)).toMatchObject({ kind: 'ignore' });
  });

  it('ignores a scan event that lacks its repository, digest or status, and says why', () => {
    const why = 'a scan event without repository-name, image-digest or scan-status';
    for (const field of ['repository-name', 'image-digest', 'scan-status']) {
      for (const value of [undefined, '', 7]) {
        const e = fixture('ecr/image-scan-complete.json');
        e.detail[field] = value;
        expect(parseInput(e, config), `${field}=${String(value)}`).toEqual({ kind: 'ignore', why });
      }
    }
  });

  it('takes only a whole digest: sha256, a colon and exactly 64 lower-case hex digits', () => {
    const hex = 'a'.repeat(64);
    for (const digest of [
      `x-sha256:${hex}`,
      `sha256:${hex}0`,
      `sha256:${hex}\n`,
      `sha256:${'g'.repeat(64)}`,
      `sha256:${'-'.repeat(64)}`,
      'sha256:a',
    ]) {
      const e = fixture('ecr/image-scan-complete.json');
      e.detail['image-digest'] = digest;
      expect(parseInput(e, config), digest).toMatchObject({ kind: 'ignore' });
    }
  });

  it('keeps an override reason and the name of who asked within their limits, and needs a reason that is not blank', () => {
    expect(
      parseInput({ action: 'override', record: 'r', reason: 'why', by: 'x'.repeat(400) }, config),
    ).toMatchObject({ request: { by: 'x'.repeat(300) } });
    for (const reason of ['', '   ']) {
      expect(parseInput({ action: 'override', record: 'r', reason, by: 'me' }, config)).toEqual({
        kind: 'ignore',
        why: 'an override without record, reason or by',
      });
    }
    expect(parseInput({ action: 'override', reason: 'why', by: 'me' }, config)).toMatchObject({
      kind: 'ignore',
    });
    expect(parseInput({ action: 'override', record: 'r', reason: 'why' }, config)).toMatchObject({
      kind: 'ignore',
    });
    expect(parseInput({ action: 'override', record: 'r', reason: 'why', by: '' }, config)).toMatchObject({
      kind: 'ignore',
    });
  });

  it('reads an override and the periodic check, and nothing else', () => {
    expect(parseInput({ action: 'check-pending' }, config)).toEqual({ kind: 'check-pending' });
    expect(parseInput({ action: 'override', record: 'r', reason: ' why ', by: 'me' }, config)).toEqual({
      kind: 'override',
      request: { action: 'override', record: 'r', reason: 'why', by: 'me' },
    });
    expect(
      parseInput({ action: 'override', record: 'r', reason: 'x'.repeat(2000), by: 'me' }, config),
    ).toMatchObject({
      request: { reason: 'x'.repeat(1000) },
    });
    expect(parseInput({ action: 'override', record: 'r', by: 'me' }, config)).toMatchObject({
      kind: 'ignore',
    });
    expect(parseInput('text', config)).toEqual({ kind: 'ignore', why: 'the payload is not a JSON object' });
    expect(parseInput([], config)).toEqual({ kind: 'ignore', why: 'the payload is not a JSON object' });
    expect(parseInput({ source: 'aws.ecr' }, config)).toEqual({
      kind: 'ignore',
      why: 'not an event this function handles',
    });
    expect(parseInput(fixture('ecr/image-action-push.json'), config)).toEqual({
      kind: 'ignore',
      why: 'event aws.ecr / ECR Image Action',
    });
  });
});

describe('build durations', () => {
  it('keeps only whole seconds of the phases CodeBuild defines, and no phase list of another shape', () => {
    const e = fixture('codebuild/build-succeeded-exported.json');
    const info = e.detail['additional-information'] as { phases: unknown };
    info.phases = [
      { 'phase-type': 'QUEUED', 'duration-in-seconds': 2 },
      { 'phase-type': 'PROVISIONING', 'duration-in-seconds': '41' },
      { 'phase-type': '__proto__', 'duration-in-seconds': 5 },
      { 'phase-type': 'BUILD', 'duration-in-seconds': 1e12 },
    ];
    expect(parseInput(e, config)).toMatchObject({ durations: { queued: 2 } });
    info.phases = { QUEUED: 2 };
    expect(parseInput(e, config)).not.toHaveProperty('durations');
  });
});

describe('names', () => {
  it('takes the name out of a repository ARN', () => {
    expect(repositoryName('arn:aws:ecr:us-east-2:123456789012:repository/team/web')).toBe('team/web');
    expect(repositoryName('team/web')).toBe('team/web');
    expect(repositoryName('arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/web')).toBe('team/web');
    // Only a whole ARN: text around one, or another partition shape, is a name as given.
    for (const name of [
      'x-arn:aws:ecr:us-east-2:123456789012:repository/team/web',
      'arn:aws:ecr:us-east-2:123456789012:repository/',
      'arn:aws0:ecr:us-east-2:123456789012:repository/team/web',
    ])
      expect(repositoryName(name)).toBe(name);
  });

  it('knows an upload record key of the stack from anything else', () => {
    const hash = 'a'.repeat(64);
    expect(isRecordKey(config, `.ecr-pipeline/uploads/${hash}.json`)).toBe(true);
    expect(isRecordKey(config, `.ecr-pipeline/uploads/../${hash}.json`)).toBe(false);
    expect(isRecordKey(config, `.ecr-pipeline/images/${hash}.json`)).toBe(false);
    expect(isRecordKey(config, `.ecr-pipeline/uploads/${hash}.json.bak`)).toBe(false);
    expect(isRecordKey(config, `.ecr-pipeline/uploads/x${hash}.json`)).toBe(false);
    expect(isRecordKey({ ...config, keyPrefix: 'b/' }, `.ecr-pipeline/uploads/${hash}.json`)).toBe(false);
  });
});
