import { Logger } from '@aws-lambda-powertools/logger';
import {
  ECRClient,
  GetSigningConfigurationCommand,
  PutSigningConfigurationCommand,
  SigningConfigurationNotFoundException,
  type SigningRule,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  applySetting,
  RefusedError,
  type SettingProperties,
  type SettingRequest,
} from '../../../functions/registry-settings/apply.ts';
import type { Deps } from '../../../functions/registry-settings/deps.ts';
import {
  MAX_SIGNING_RULES,
  mergeSigning,
  ourSigningRule,
  sameSigningRule,
  unmergeSigning,
} from '../../../functions/registry-settings/signing.ts';

const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/ecr_pipeline';
const OTHER_PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/payments';

const ours: SigningRule = {
  signingProfileArn: PROFILE,
  repositoryFilters: [{ filter: 'team-a/*', filterType: 'WILDCARD_MATCH' }],
};
const theirs: SigningRule = {
  signingProfileArn: OTHER_PROFILE,
  repositoryFilters: [{ filter: 'payments/*', filterType: 'WILDCARD_MATCH' }],
};

const merged = (existing: SigningRule[], rule: SigningRule, previous?: SigningRule) => {
  const result = mergeSigning(existing, rule, previous);
  if (!result.ok) throw new Error(result.reason);
  return result.value;
};

describe('ourSigningRule', () => {
  it("signs the stack's repositories (repositoryPattern as a WILDCARD_MATCH filter) with the profile", () => {
    expect(ourSigningRule(PROFILE, 'team-a/*')).toEqual({ ok: true, value: ours });
  });

  it('refuses a pattern with "?", which a signing filter could only widen', () => {
    const result = ourSigningRule(PROFILE, 'team-?/*');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('has a "?"');
  });

  it("refuses a pattern of wildcards only, which would sign every team's images", () => {
    for (const pattern of ['*', '**', '']) {
      const result = ourSigningRule(PROFILE, pattern);
      expect(result.ok, pattern).toBe(false);
      if (!result.ok) expect(result.reason).toContain('every repository of the registry');
    }
  });

  it('refuses what is not a signing profile ARN, naming it', () => {
    for (const arn of [
      'profile',
      'arn:aws:signer:us-east-1:123456789012:/signing-profiles/*',
      'arn:aws:iam::123456789012:role/x',
      `${PROFILE}/extra`,
      `x${PROFILE}`,
    ]) {
      const result = ourSigningRule(arn, 'team-a/*');
      expect(result.ok, arn).toBe(false);
      if (!result.ok) expect(result.reason).toContain('is not an AWS Signer signing profile ARN');
    }
    expect(ourSigningRule('arn:aws-cn:signer:cn-north-1:123456789012:/signing-profiles/ab', 'a/*').ok).toBe(
      true,
    );
  });

  it('says what a signing profile ARN looks like, and quotes at most 200 characters of what it got', () => {
    const result = ourSigningRule(`arn:${'x'.repeat(500)}`, 'team-a/*');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain('(arn:aws:signer:<region>:<account>:/signing-profiles/<name>)');
    expect(result.reason).toContain(`"arn:${'x'.repeat(196)}"`);
    expect(result.reason).not.toContain('x'.repeat(197));
  });

  it('says how to write a pattern it refuses', () => {
    const question = ourSigningRule(PROFILE, 'team-?/*');
    expect(question.ok).toBe(false);
    if (!question.ok) expect(question.reason).toContain('write it with "*" (or a narrower prefix)');
    const all = ourSigningRule(PROFILE, '**');
    expect(all.ok).toBe(false);
    if (!all.ok)
      expect(all.reason).toMatch(
        /^signing needs a repositoryPattern narrower than "\*\*" \(such as "team-a\/\*"\)/,
      );
  });
});

describe('mergeSigning', () => {
  it("adds ours last and keeps everyone else's rules as they were", () => {
    expect(merged([theirs], ours)).toEqual([theirs, ours]);
    expect(merged([], ours)).toEqual([ours]);
  });

  it('gives the same rules when applied twice (an update with the same properties)', () => {
    const once = merged([theirs], ours);
    expect(merged(once, ours, ours)).toEqual(once);
  });

  it('replaces our previous rule on an update, leaving theirs', () => {
    const before: SigningRule = {
      ...ours,
      repositoryFilters: [{ filter: 'team-b/*', filterType: 'WILDCARD_MATCH' }],
    };
    expect(merged([before, theirs], ours, before)).toEqual([theirs, ours]);
  });

  it('refuses to take over an identical rule this stack did not write', () => {
    const result = mergeSigning([{ ...ours }, theirs], ours);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain('"team-a/*"');
      expect(result.reason).toContain('which this stack did not write');
    }
  });

  it('names every filter of a rule it will not take over, and what to change', () => {
    const two: SigningRule = {
      signingProfileArn: PROFILE,
      repositoryFilters: [
        { filter: 'a/*', filterType: 'WILDCARD_MATCH' },
        { filter: 'b/*', filterType: 'WILDCARD_MATCH' },
      ],
    };
    const result = mergeSigning([two], two);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain(`signing rule for "a/*", "b/*" with ${PROFILE}`);
      expect(result.reason).toContain('give this stack another repositoryPattern or signing profile');
    }
    const bare = mergeSigning([{ signingProfileArn: PROFILE }], { signingProfileArn: PROFILE });
    expect(bare.ok).toBe(false);
    if (!bare.ok) expect(bare.reason).toContain(`signing rule for  with ${PROFILE}`);
  });

  it("keeps another profile's rule for the same repositories (ECR signs with each)", () => {
    const same = { ...ours, signingProfileArn: OTHER_PROFILE };
    expect(merged([same], ours)).toEqual([same, ours]);
  });

  it('refuses an eleventh rule rather than drop one of theirs', () => {
    const many = Array.from({ length: MAX_SIGNING_RULES }, (_, i) => ({
      ...theirs,
      repositoryFilters: [{ filter: `t${i}/*`, filterType: 'WILDCARD_MATCH' as const }],
    }));
    const result = mergeSigning(many, ours);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain(`has ${MAX_SIGNING_RULES} signing rules of others`);
      expect(result.reason).toContain('cannot add its own without removing one of theirs');
    }
    expect(merged(many.slice(1), ours)).toHaveLength(MAX_SIGNING_RULES);
  });
});

describe('unmergeSigning and sameSigningRule', () => {
  it('takes out only ours, and taking it out twice changes nothing more', () => {
    const once = unmergeSigning([theirs, ours], ours);
    expect(once).toEqual([theirs]);
    expect(unmergeSigning(once, ours)).toEqual([theirs]);
  });

  it('compares profile and filters, not the filters order', () => {
    const two = (a: string, b: string): SigningRule => ({
      signingProfileArn: PROFILE,
      repositoryFilters: [
        { filter: a, filterType: 'WILDCARD_MATCH' },
        { filter: b, filterType: 'WILDCARD_MATCH' },
      ],
    });
    expect(sameSigningRule(two('a/*', 'b/*'), two('b/*', 'a/*'))).toBe(true);
    expect(sameSigningRule(two('a/*', 'b/*'), two('a/*', 'c/*'))).toBe(false);
    expect(sameSigningRule(ours, { ...ours, signingProfileArn: OTHER_PROFILE })).toBe(false);
    expect(sameSigningRule({ signingProfileArn: PROFILE }, { signingProfileArn: PROFILE })).toBe(true);
    // ECR may leave out an empty list: no filters and an empty list of them are the same rule.
    expect(
      sameSigningRule({ signingProfileArn: PROFILE }, { signingProfileArn: PROFILE, repositoryFilters: [] }),
    ).toBe(true);
  });
});

const ecrMock = mockClient(ECRClient);

const deps = (): Deps => ({
  ecr: new ECRClient({ region: 'us-east-1' }),
  logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  respond: async () => {},
});

function request(kind: SettingRequest['kind'], old?: Partial<SettingProperties>): SettingRequest {
  const properties: SettingProperties = {
    Setting: 'signing',
    RepositoryPattern: 'team-a/*',
    SigningProfileArn: PROFILE,
  };
  return {
    kind,
    properties,
    ...(old ? { oldProperties: { ...properties, ...old } } : {}),
    region: 'us-east-1',
    accountId: '123456789012',
    partition: 'aws',
  };
}

describe('applySetting: signing', () => {
  beforeEach(() => ecrMock.reset());

  it('merges our rule into the registry signing configuration, keeping theirs', async () => {
    ecrMock.on(GetSigningConfigurationCommand).resolves({ signingConfiguration: { rules: [theirs] } });
    ecrMock.on(PutSigningConfigurationCommand).resolves({});
    await expect(applySetting(deps(), request('Create'))).resolves.toEqual({ SigningProfileArn: PROFILE });
    expect(ecrMock).toHaveReceivedCommandWith(PutSigningConfigurationCommand, {
      signingConfiguration: { rules: [theirs, ours] },
    });
  });

  it('starts from no rules when the registry has no signing configuration yet', async () => {
    ecrMock
      .on(GetSigningConfigurationCommand)
      .rejects(new SigningConfigurationNotFoundException({ message: 'none', $metadata: {} }));
    ecrMock.on(PutSigningConfigurationCommand).resolves({});
    await applySetting(deps(), request('Create'));
    expect(ecrMock).toHaveReceivedCommandWith(PutSigningConfigurationCommand, {
      signingConfiguration: { rules: [ours] },
    });
  });

  it('replaces our old rule on an update', async () => {
    const old = { ...ours, signingProfileArn: OTHER_PROFILE.replace('payments', 'old_one') };
    ecrMock.on(GetSigningConfigurationCommand).resolves({ signingConfiguration: { rules: [old, theirs] } });
    ecrMock.on(PutSigningConfigurationCommand).resolves({});
    await applySetting(deps(), request('Update', { SigningProfileArn: old.signingProfileArn }));
    expect(ecrMock).toHaveReceivedCommandWith(PutSigningConfigurationCommand, {
      signingConfiguration: { rules: [theirs, ours] },
    });
  });

  it('removes only ours on delete', async () => {
    ecrMock.on(GetSigningConfigurationCommand).resolves({ signingConfiguration: { rules: [theirs, ours] } });
    ecrMock.on(PutSigningConfigurationCommand).resolves({});
    await applySetting(deps(), request('Delete'));
    expect(ecrMock).toHaveReceivedCommandWith(PutSigningConfigurationCommand, {
      signingConfiguration: { rules: [theirs] },
    });
  });

  it('fails the deploy with the reason, writing nothing, when ours cannot be merged', async () => {
    ecrMock.on(GetSigningConfigurationCommand).resolves({ signingConfiguration: { rules: [ours] } });
    await expect(applySetting(deps(), request('Create'))).rejects.toThrow(RefusedError);
    expect(ecrMock).not.toHaveReceivedCommand(PutSigningConfigurationCommand);
  });

  it('passes on any other error of the read (the deploy fails with it)', async () => {
    ecrMock
      .on(GetSigningConfigurationCommand)
      .rejects(Object.assign(new Error('slow'), { name: 'ThrottlingException' }));
    await expect(applySetting(deps(), request('Create'))).rejects.toThrow('slow');
    expect(ecrMock).not.toHaveReceivedCommand(PutSigningConfigurationCommand);
  });
});
