/**
 * A `Release Verdict` event (the release function, on the stack's own bus) as the one message people
 * get for an upload's outcome: released, held (with why, and how to release it anyway), superseded,
 * rejected or failed.
 */
import { durationsOf, durationsText } from '../../shared/build-durations.ts';
import type { ReleaseVerdict, ReleaseVerdictDetail } from '../../shared/contract.ts';
import { normalizeCounts, worstSeverity } from '../../shared/severity.ts';
import { consoleLinks, type Link, type Notification } from '../notify/notification.ts';

type Base = Pick<Notification, 'region' | 'account' | 'time'>;
type Json = Record<string, unknown>;

// Functions, not constants: what is built at module load is out of reach of mutation testing's
// mutant switching, so its mutants would survive untested.

/** A non-empty string, or undefined. */
function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The title and outcome of each verdict. */
function verdicts(): Record<ReleaseVerdict, { title: string; outcome: Notification['outcome'] }> {
  return {
    released: { title: 'Image released', outcome: 'success' },
    held: { title: 'Image held', outcome: 'warning' },
    superseded: { title: 'Upload superseded', outcome: 'info' },
    rejected: { title: 'Release rejected', outcome: 'failure' },
    failed: { title: 'Release failed', outcome: 'failure' },
  };
}

/** The attestations a verdict may list, by the names people read. */
function attestationNames(): Record<string, string> {
  return { sbom: 'SBOM', provenance: 'provenance', signed: 'signed' };
}

/** `SBOM, provenance, signed`: what the image carries, as the verdict lists it. */
export function attachedText(attestations: unknown): string | undefined {
  const known = attestationNames();
  const names = Array.isArray(attestations)
    ? attestations.flatMap((a) =>
        // Own names only: `toString` and the like are not attestations.
        typeof a === 'string' && Object.hasOwn(known, a) ? [known[a] as string] : [],
      )
    : [];
  return names.length > 0 ? names.join(', ') : undefined;
}

/**
 * The platforms of a joined image, as one line: `linux/amd64 + linux/arm64 (native)`, or with the
 * emulated ones named: `linux/amd64 (native) + linux/arm/v7 (emulated)`. Undefined without legs.
 */
export function legsText(legs: unknown): string | undefined {
  if (!Array.isArray(legs)) return undefined;
  const valid = legs.filter(
    (leg): leg is { platform: string; emulated: boolean } =>
      // Only an object has a platform of its own (a payload's legs are JSON).
      typeof leg?.platform === 'string',
  );
  if (valid.length === 0) return undefined;
  const platforms = valid.map((leg) => leg.platform.slice(0, 40));
  if (valid.every((leg) => leg.emulated !== true)) return `${platforms.join(' + ')} (native)`;
  if (valid.every((leg) => leg.emulated === true)) return `${platforms.join(' + ')} (emulated)`;
  return valid
    .map((leg, i) => `${platforms[i]} (${leg.emulated === true ? 'emulated' : 'native'})`)
    .join(' + ');
}

/**
 * Where the build's time went, as one sentence: `Build time: queued 2 s, provisioning 41 s, ...`, or
 * per leg of a joined image. Undefined when the verdict carries no durations.
 */
export function timeText(durations: unknown, legs: unknown): string | undefined {
  const own = durationsText(durationsOf(durations));
  if (own) return `Build time: ${own}`;
  if (!Array.isArray(legs)) return undefined;
  const perLeg = legs.flatMap((leg) => {
    if (typeof leg?.platform !== 'string') return [];
    const text = durationsText(durationsOf(leg.durations));
    return text ? [`${leg.platform.slice(0, 40)} ${text}`] : [];
  });
  return perLeg.length > 0 ? `Build time: ${perLeg.join('; ')}` : undefined;
}

/** What the message says besides the facts: why, where the build's time went, for a held image what to do. */
function detailText(
  d: Partial<ReleaseVerdictDetail>,
  verdict: ReleaseVerdict,
  key: string,
): string | undefined {
  const reason = reasonText(d, verdict, key);
  const time = timeText(d.durations, d.legs);
  return reason && time ? `${reason}. ${time}` : (reason ?? time);
}

/** Why, and for a held image what to do; for a released image, what it is. */
function reasonText(
  d: Partial<ReleaseVerdictDetail>,
  verdict: ReleaseVerdict,
  key: string,
): string | undefined {
  const override = d.override as ReleaseVerdictDetail['override'] | undefined;
  if (verdict === 'released') {
    const legs = legsText(d.legs);
    const attached = attachedText(d.attestations);
    const parts = [
      ...(legs ? [`Released ${legs}`] : []),
      ...(override ? [`Released by override (${override.by}): ${override.reason}`] : []),
      ...(attached ? [`Carries: ${attached}`] : []),
    ];
    return parts.length > 0 ? parts.join('. ') : undefined;
  }
  const reason = str(d.reason) ?? 'no reason given';
  if (verdict !== 'held') return reason;
  return `Held: ${reason}. The image stays pushed by digest; the tag was not moved. To release it anyway: ecr-pipeline release ${key} --override --reason "..."`;
}

/** The notification of a verdict, or undefined when the detail is not one. */
export function verdictNotification(detail: Json, base: Base): Notification | undefined {
  const d = detail as Partial<Record<keyof ReleaseVerdictDetail, unknown>>;
  const verdict = str(d.verdict) as ReleaseVerdict | undefined;
  const repository = str(d.repository);
  const bucket = str(d.bucket);
  const key = str(d.key);
  const titles = verdicts();
  if (!verdict || !Object.hasOwn(titles, verdict) || !repository || !bucket || !key) return undefined;
  const digest = str(d.digest);
  const counts = d.counts === undefined ? undefined : normalizeCounts(d.counts);
  const links: Link[] = [
    ...(digest ? [consoleLinks.image(base.region, base.account, repository, digest)] : []),
    consoleLinks.object(base.region, bucket, key),
  ];
  const text = detailText(d as Partial<ReleaseVerdictDetail>, verdict, key);
  const severity = counts ? worstSeverity(counts) : undefined;
  return {
    ...base,
    kind: 'release',
    ...titles[verdict],
    repository,
    tag: str(d.tag),
    digest,
    ...(counts ? { counts } : {}),
    ...(severity ? { severity } : {}),
    ...(text ? { detail: text } : {}),
    links,
  };
}
