/**
 * What each role did in one run of the local cloud: the actions it used and the statements that
 * allowed them, what was denied, and the actions its policies grant that it never used (the basis
 * for tightening the template).
 */
import { wildcard } from './conditions.ts';
import { type Decision, statementsOf } from './evaluate.ts';
import type { IamModel } from './model.ts';

export interface RoleUsage {
  role: string;
  used: Array<{ action: string; count: number; allowedBy: string[] }>;
  denied: Array<{ action: string; resource: string; count: number; reason: string }>;
  /** Allow statements of the role's own policies and the actions they grant that were never used. */
  unused: Array<{ statement: string; actions: string[] }>;
}

const statementId = (ref: { policy: string; sid: string }) => `${ref.policy}#${ref.sid}`;

/** The decisions of one run, per role. */
export class UsageLog {
  private readonly used = new Map<string, Map<string, { count: number; allowedBy: Set<string> }>>();
  private readonly denied = new Map<string, Map<string, RoleUsage['denied'][number]>>();

  /** Records one decision for a role (by logical id). */
  record(role: string, action: string, resource: string, decision: Decision): void {
    if (decision.allowed) {
      const actions = this.used.get(role) ?? new Map();
      this.used.set(role, actions);
      const entry = actions.get(action) ?? { count: 0, allowedBy: new Set<string>() };
      entry.count += 1;
      for (const ref of decision.statements) entry.allowedBy.add(statementId(ref));
      actions.set(action, entry);
      return;
    }
    const denials = this.denied.get(role) ?? new Map();
    this.denied.set(role, denials);
    const key = `${action} ${resource}`;
    const entry = denials.get(key) ?? { action, resource, count: 0, reason: decision.reason };
    entry.count += 1;
    denials.set(key, entry);
  }

  /** The report of every role of the model, in template order. */
  report(model: IamModel): RoleUsage[] {
    return model.roles.map((role) => {
      const used = [...(this.used.get(role.logicalId) ?? new Map()).entries()]
        .map(([action, entry]) => ({ action, count: entry.count, allowedBy: [...entry.allowedBy].sort() }))
        .sort((a, b) => a.action.localeCompare(b.action));
      const unused: RoleUsage['unused'] = [];
      for (const policy of role.policies) {
        statementsOf(policy.document).forEach((statement, index) => {
          if (statement.Effect !== 'Allow' || statement.Action === undefined) return;
          const id = statementId({ policy: policy.name, sid: statement.Sid ?? `#${index}` });
          const usedHere = used.filter((u) => u.allowedBy.includes(id)).map((u) => u.action);
          const granted = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
          const never = granted.filter((g) => !usedHere.some((action) => wildcard(g, true)(action)));
          if (never.length > 0) unused.push({ statement: id, actions: never });
        });
      }
      return {
        role: role.logicalId,
        used,
        denied: [...(this.denied.get(role.logicalId)?.values() ?? [])],
        unused,
      };
    });
  }
}

/** The report as text, one block per role. */
export function formatUsage(report: RoleUsage[]): string {
  const lines: string[] = [];
  for (const role of report) {
    lines.push(`iam: role ${role.role}`);
    if (role.used.length === 0) lines.push('  used: nothing');
    for (const u of role.used)
      lines.push(`  used    ${u.action} x${u.count} (allowed by ${u.allowedBy.join(', ')})`);
    for (const d of role.denied)
      lines.push(`  DENIED  ${d.action} on ${d.resource} x${d.count} (${d.reason})`);
    for (const n of role.unused) lines.push(`  unused  ${n.actions.join(', ')} (granted by ${n.statement})`);
  }
  return lines.join('\n');
}
