/**
 * EventBridge rules: a scheduled rule becomes an entry for the local clock; a rule with an event
 * pattern is created in moto with the template's own pattern, its Lambda targets replaced by local
 * queues the invoker drains (other targets kept as they are), each named `<function>-rule-<rule>`.
 */
import { PutRuleCommand, PutTargetsCommand, type Target } from '@aws-sdk/client-eventbridge';
import type { PhysicalResource } from '../template.ts';
import type { DeployState } from './state.ts';

type Props = Record<string, unknown>;

/** AWS::Events::Rule. */
export async function createRule(
  state: DeployState,
  physical: PhysicalResource,
  props: Props,
): Promise<void> {
  const targets = (props.Targets ?? []) as Props[];
  if (props.ScheduleExpression) return addSchedules(state, physical, props, targets);
  const name = physical.ref;
  const pattern =
    typeof props.EventPattern === 'string' ? props.EventPattern : JSON.stringify(props.EventPattern);
  const bus = props.EventBusName ? String(props.EventBusName) : undefined;
  await state.clients.events.send(
    new PutRuleCommand({
      Name: name,
      EventPattern: pattern,
      State: String(props.State ?? 'ENABLED') as 'ENABLED' | 'DISABLED',
      ...(bus ? { EventBusName: bus } : {}),
      ...(props.Description ? { Description: String(props.Description) } : {}),
    }),
  );
  const localTargets: Target[] = [];
  for (const target of targets) localTargets.push(await localTarget(state, name, target));
  if (localTargets.length > 0) {
    await state.clients.events.send(
      new PutTargetsCommand({ Rule: name, Targets: localTargets, ...(bus ? { EventBusName: bus } : {}) }),
    );
  }
  state.note(
    `rule ${name} ${pattern} -> ${targets.map((t) => state.functionArns.get(String(t.Arn)) ?? String(t.Arn)).join(', ')}`,
  );
}

/** A scheduled rule's function targets, for the local clock. */
function addSchedules(state: DeployState, physical: PhysicalResource, props: Props, targets: Props[]): void {
  const name = physical.ref;
  for (const target of targets) {
    const key = state.functionArns.get(String(target.Arn));
    if (!key) continue;
    state.deployment.schedules.push({
      ruleName: name,
      ruleArn: physical.attributes.Arn ?? '',
      expression: String(props.ScheduleExpression),
      functionKey: key,
      ...(target.Input !== undefined ? { input: JSON.parse(String(target.Input)) } : {}),
    });
    state.note(`schedule ${name} ${String(props.ScheduleExpression)} -> ${key} (local clock)`);
  }
}

/** The target as moto gets it: a function of the template becomes its local queue. */
async function localTarget(state: DeployState, rule: string, target: Props): Promise<Target> {
  const arn = String(target.Arn);
  const key = state.functionArns.get(arn);
  const keep: Target = {
    Id: String(target.Id),
    Arn: arn,
    ...(target.Input !== undefined ? { Input: String(target.Input) } : {}),
    ...(target.InputPath !== undefined ? { InputPath: String(target.InputPath) } : {}),
    ...(target.InputTransformer !== undefined
      ? { InputTransformer: target.InputTransformer as Target['InputTransformer'] }
      : {}),
  };
  if (!key) return keep;
  // Named for the function first, as `doctor --local` reads it: the queue stands for that function.
  const functionName = arn.split(':')[6] ?? key;
  const queue = await state.localQueue(`${functionName}-rule-${rule}`, 'events', key);
  return { ...keep, Arn: queue.arn };
}
