/**
 * The legs of an upload: one build per platform it asks for, each on the CodeBuild environment of
 * its architecture where the stack has one (amd64 on LINUX_CONTAINER, arm64 on ARM_CONTAINER), else
 * emulated (QEMU) on the nearest host. Pure functions: the metadata in, the plan or why not out.
 */
import { UPLOAD_METADATA } from '../shared/contract.ts';
import type { Result } from '../shared/naming.ts';
import { PLATFORM, parsePlatform } from '../shared/platform.ts';
import type { UploadLeg } from '../shared/upload-record.ts';

/** A CodeBuild environment a leg runs on (StartBuild's environment overrides). */
export interface BuildEnvironment {
  type: 'LINUX_CONTAINER' | 'ARM_CONTAINER';
  image: string;
  computeType: string;
}

/** The native environments of the stack, by architecture; an absent one builds emulated. */
export type NativeEnvironments = Partial<Record<'amd64' | 'arm64', BuildEnvironment>>;

/** One build of an upload. */
export interface LegPlan {
  platform: string;
  environment: BuildEnvironment;
  emulated: boolean;
}

/** Most legs an upload may ask for: each is a build the account pays for. */
export const MAX_LEGS = 8;

function invalid(reason: string): Result<never> {
  return { ok: false, rejection: { code: 'InvalidMetadata', reason } };
}

/** The platforms of the `platforms` metadata, in the upload's order without repeats; [] when absent. */
export function parsePlatforms(value: string | undefined): Result<string[]> {
  if (value === undefined) return { ok: true, value: [] };
  const platforms = [
    ...new Set(
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    ),
  ];
  const name = UPLOAD_METADATA.platforms;
  if (platforms.length === 0) {
    return invalid(`metadata "${name}" is empty; give platforms like "linux/amd64,linux/arm64"`);
  }
  const bad = platforms.find((platform) => !PLATFORM.test(platform));
  if (bad !== undefined) {
    return invalid(`platform "${bad.slice(0, 60)}" is not of the form os/arch[/variant], like linux/arm64`);
  }
  if (platforms.length > MAX_LEGS) {
    return invalid(`metadata "${name}" names ${platforms.length} platforms; at most ${MAX_LEGS} are built`);
  }
  return { ok: true, value: platforms };
}

/** `lambda-safe` metadata: `true` or `false`; anything else is refused. */
export function parseLambdaSafe(value: string | undefined): Result<boolean> {
  if (value === undefined) return { ok: true, value: false };
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true' || normalized === 'false') return { ok: true, value: normalized === 'true' };
  return invalid(
    `metadata "${UPLOAD_METADATA.lambdaSafe}" must be true or false, got "${value.slice(0, 40)}"`,
  );
}

/** The architecture whose hardware runs `platform` natively, or undefined (it builds emulated). */
export function nativeArchitecture(platform: string): 'amd64' | 'arm64' | undefined {
  const { os, architecture, variant } = parsePlatform(platform);
  if (os !== 'linux') return undefined;
  if (architecture === 'amd64' && variant === undefined) return 'amd64';
  if (architecture === 'arm64' && (variant === undefined || variant === 'v8')) return 'arm64';
  return undefined;
}

/** The host an emulated `platform` builds on: an ARM host for 32-bit ARM when there is one. */
function nearestHost(platform: string, native: NativeEnvironments): BuildEnvironment | undefined {
  const arm = parsePlatform(platform).architecture === 'arm';
  return (arm ? (native.arm64 ?? native.amd64) : (native.amd64 ?? native.arm64)) ?? undefined;
}

/**
 * The legs of an upload asking for `platforms`. `lambdaSafe` (the upload's or the stack's) refuses
 * several platforms: Lambda runs a plain image manifest only, never an index.
 */
export function planLegs(
  platforms: string[],
  native: NativeEnvironments,
  lambdaSafe: { upload: boolean; stack: boolean },
): Result<LegPlan[]> {
  if (platforms.length > 1 && (lambdaSafe.upload || lambdaSafe.stack)) {
    const asked = lambdaSafe.upload
      ? `the upload's metadata "${UPLOAD_METADATA.lambdaSafe}" is true`
      : 'the stack builds Lambda-safe images only (lambdaSafe parameter)';
    return {
      ok: false,
      rejection: {
        code: 'NotLambdaSafe',
        reason: `${platforms.join(', ')}: ${platforms.length} platforms make an image index, which Lambda refuses, and ${asked}; upload once per platform, or without lambda-safe`,
      },
    };
  }
  const legs: LegPlan[] = [];
  for (const platform of platforms) {
    const arch = nativeArchitecture(platform);
    const own = arch ? native[arch] : undefined;
    const environment = own ?? nearestHost(platform, native);
    if (!environment) {
      return invalid(`no build environment can build ${platform}: the stack configures none`);
    }
    legs.push({ platform, environment, emulated: own === undefined });
  }
  return { ok: true, value: legs };
}

/** The legs as the upload record keeps them (no build yet). */
export function recordLegs(legs: LegPlan[]): UploadLeg[] {
  return legs.map((leg) => ({
    platform: leg.platform,
    emulated: leg.emulated,
    environmentType: leg.environment.type,
  }));
}

/**
 * The registry cache's tag of a leg: each platform its own, so that parallel legs do not overwrite
 * one another's cache (all match the cache tag pattern, excluded from immutability).
 */
export function legCacheTag(cacheTag: string, platform: string | undefined): string {
  if (cacheTag === '' || platform === undefined) return cacheTag;
  const { architecture, variant } = parsePlatform(platform);
  return `${cacheTag}-${variant ? `${architecture}-${variant}` : architecture}`;
}
