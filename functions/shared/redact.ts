/**
 * Hides the lines of a text that look like they carry a credential, before the text reaches a
 * person or a record: Slack, SNS, the upload record and the command-line tool all show text
 * through `redactText` / `redactLines`. The detection is secretlint's recommended rule set (a
 * pinned dependency, kept up to date by its maintainers: AWS, GitHub, Slack, npm, private keys,
 * database connection strings, basic auth...), plus the few cases below that it does not catch.
 * A whole line is hidden, never a part of it: a secret cut in two still leaks.
 */
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';

export const HIDDEN_LINE = '*** (line hidden: it looks like it carries a credential)';

/**
 * What the recommended rule set lets through. CodeBuild already shows parameter-store and
 * secrets-manager values as `***`; these catch what a build prints by itself. A key word may end a
 * longer name (`DB_PASSWORD=`, `PGPASSWORD=`, `NPM_TOKEN=`): only a letter or a digit right before
 * the word makes another word, so `_` and the start of the name count as a boundary.
 */
function ours(): readonly RegExp[] {
  return [
    // Variables and keys named for a credential, assigned a value (shell, YAML, JSON, .npmrc, INI).
    // (`client_secret` and `client-secret` end in the word `secret`; `clientsecret` is one word.)
    /(?<![a-z0-9])(aws_secret_access_key|aws_session_token|aws_access_key_id)\b/i,
    /(?<![a-z0-9])(password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|clientsecret)\b["']?\s*[=:]/i,
    // PostgreSQL's and MySQL's password variables: the key word is the end of one longer word.
    /(?<![a-z0-9])(PGPASSWORD|MYSQL_PWD)\s*=/i,
    // .npmrc: `//registry/:_authToken=...`, `_auth=...`.
    /(?<![a-z0-9])_auth(Token)?\s*=/i,
    // The aws CLI's JSON credentials (sts assume-role, get-session-token, export-credentials).
    /"(SecretAccessKey|SessionToken)"\s*:/,
    // Docker's config.json: `"auth": "<base64 of user:password>"`.
    /"auth"\s*:\s*"[^"]/i,
    // Azure storage connection strings.
    /(?<![a-z0-9])AccountKey\s*=/i,
    // Stripe secret and restricted keys.
    /\b[rs]k_(live|test)_[A-Za-z0-9]{10,}/,
    /\b(proxy-)?authorization\s*:/i,
    /\b(AKIA|ASIA)[0-9A-Z]{16}\b/,
    /\bbearer\s+[A-Za-z0-9._~+/-]{8,}/i,
    /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i,
    /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})/,
  ];
}

/** Whether a line is the BEGIN line of a PEM private key block. */
function pemBegin(line: string): boolean {
  return /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/.test(line);
}

/** Whether a line is the END line of a PEM private key block. */
function pemEnd(line: string): boolean {
  return /-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/.test(line);
}

/** Indexes (0-based) of the lines secretlint's recommended rules find a secret in. */
async function ruleSetLines(lines: readonly string[]): Promise<Set<number>> {
  const content = lines.join('\n');
  const found = new Set<number>();
  // Stryker disable next-line ConditionalExpression,MethodExpression,StringLiteral: a blank text spares the rule set's run only; it finds nothing there either
  if (content.trim() === '') return found;
  const result = await lintSource({
    source: { content, filePath: 'build.log', contentType: 'text' },
    options: {
      // Stryker disable next-line StringLiteral: the id names the rule in messages, which are never read
      config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] },
      // Stryker disable next-line BooleanLiteral: only the places of what the rules find are read, never their messages or a file
      noPhysicFilePath: true,
      // Stryker disable next-line BooleanLiteral: the messages (where a secret would show unmasked) are never read or logged
      maskSecrets: true,
    },
  });
  for (const message of result.messages) {
    // loc lines are 1-based; a match over several lines (a whole PEM block) hides them all.
    for (let line = message.loc.start.line; line <= message.loc.end.line; line++) found.add(line - 1);
  }
  return found;
}

/**
 * Indexes of the lines inside a private key block: from its BEGIN line to its END line, from the
 * start of the text to an END line whose BEGIN fell outside it, from a BEGIN line to the end of the
 * text when its END fell outside it.
 */
export function privateKeyLines(lines: readonly string[]): Set<number> {
  const found = new Set<number>();
  let start: number | undefined;
  const firstEnd = lines.findIndex(pemEnd);
  const firstBegin = lines.findIndex(pemBegin);
  // An END before any BEGIN: the text starts inside a block.
  if (firstEnd >= 0 && (firstBegin === -1 || firstEnd < firstBegin)) start = 0;
  for (const [i, line] of lines.entries()) {
    // A BEGIN line inside an open block (re)starts it there: the same lines are hidden either way.
    if (pemBegin(line)) start = i;
    if (start === undefined) continue;
    found.add(i);
    if (pemEnd(line)) start = undefined;
  }
  return found;
}

/** `lines` with each line that looks like it carries a credential replaced by HIDDEN_LINE. */
export async function redactLines(lines: readonly string[]): Promise<string[]> {
  const hidden = await ruleSetLines(lines);
  for (const i of privateKeyLines(lines)) hidden.add(i);
  const patterns = ours();
  return lines.map((line, i) =>
    hidden.has(i) || patterns.some((pattern) => pattern.test(line)) ? HIDDEN_LINE : line,
  );
}

/** `text` with each line that looks like it carries a credential replaced by HIDDEN_LINE. */
export async function redactText(text: string): Promise<string> {
  return (await redactLines(text.split('\n'))).join('\n');
}
