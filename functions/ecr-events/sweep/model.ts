/** What the sweeper's stages pass each other: the repositories, what was read of them, and what became of them. */

/** A managed repository, as discovery found it. */
export interface Candidate {
  name: string;
  arn: string;
  /** Registry (account) id; empty when unknown. */
  account: string;
  tags: Record<string, string>;
  createdAt?: Date;
}

/** Latest push and recorded pull over every image; an empty repository counts from its creation. */
export interface Activity {
  lastPush: Date;
  lastPull?: Date;
}

/** What became of one repository in this sweep. */
export type RepoResult =
  | { kind: 'active' | 'gone' | 'skipped' }
  | { kind: 'protected' | 'marked' | 'deleted' | 'unmarked' | 'pending' | 'in-use'; note?: string }
  | { kind: 'error'; error: string };

export const DAY_MS = 86_400_000;
export const isoDay = (date: Date) => date.toISOString().slice(0, 10);
const errorName = (error: unknown) => (error as { name?: string } | undefined)?.name;
export const isNotFound = (error: unknown) => errorName(error) === 'RepositoryNotFoundException';
