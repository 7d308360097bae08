/**
 * `@Workflow({ migrate })` declarations, checked when the graph is built: each names a version
 * below the class's own, at most once, and renames or drops names that make sense for the new graph.
 * What a migration does to one run is decided by `lib/runner/versions/migration-plan.ts`.
 */
import { WorkflowDefinitionError } from './errors';
import type { Migration } from './metadata';

/** The class's migrations by the version each moves from; throws `WorkflowDefinitionError` naming the problem. */
export function checkMigrations(declared: Migration | readonly Migration[] | undefined, version: number, steps: ReadonlyMap<string, unknown>, className: string): ReadonlyMap<number, Migration> {
  const migrations = new Map<number, Migration>();
  if (declared === undefined) return migrations;
  const list = (Array.isArray(declared) ? declared : [declared]) as readonly unknown[];
  for (const raw of list) {
    if (raw === null || typeof raw !== 'object') throw new WorkflowDefinitionError(`@Workflow migrate must be { from, renamed?, dropped?, input?, outputs? } or an array of them, got ${JSON.stringify(raw)}`, className);
    const m = raw as Migration;
    for (const key of Object.keys(m)) {
      if (!['from', 'renamed', 'dropped', 'input', 'outputs'].includes(key)) throw new WorkflowDefinitionError(`@Workflow migrate has no option '${key}' (options: from, renamed, dropped, input, outputs)`, className);
    }
    if (!Number.isInteger(m.from) || m.from < 1 || m.from >= version) throw new WorkflowDefinitionError(`@Workflow migrate from must be a version below ${version}, got ${JSON.stringify(m.from)}`, className);
    if (migrations.has(m.from)) throw new WorkflowDefinitionError(`@Workflow migrate declares version ${m.from} twice`, className);
    const renamed = m.renamed ?? {};
    if (renamed === null || typeof renamed !== 'object' || Array.isArray(renamed)) throw new WorkflowDefinitionError(`@Workflow migrate renamed must be { oldName: 'newName' }`, className);
    const targets = new Set<string>();
    for (const [from, to] of Object.entries(renamed)) {
      if (typeof to !== 'string' || !steps.has(to)) throw new WorkflowDefinitionError(`@Workflow migrate from ${m.from} renames '${from}' to ${JSON.stringify(to)}, which is not a step of version ${version}`, className);
      if (targets.has(to)) throw new WorkflowDefinitionError(`@Workflow migrate from ${m.from} renames two steps to '${to}'`, className);
      targets.add(to);
    }
    const dropped = m.dropped ?? [];
    if (!Array.isArray(dropped) || dropped.some((d) => typeof d !== 'string')) throw new WorkflowDefinitionError(`@Workflow migrate dropped must be an array of step names`, className);
    for (const name of dropped) {
      if (Object.hasOwn(renamed, name)) throw new WorkflowDefinitionError(`@Workflow migrate from ${m.from} both renames and drops '${name}'`, className);
      if (steps.has(name)) throw new WorkflowDefinitionError(`@Workflow migrate from ${m.from} drops '${name}', which is a step of version ${version} (keep it, or rename the new step)`, className);
    }
    const outputs = m.outputs ?? {};
    if (outputs === null || typeof outputs !== 'object' || Array.isArray(outputs)) throw new WorkflowDefinitionError(`@Workflow migrate outputs must be { newStepName: (old output) => new output }`, className);
    for (const [step, convert] of Object.entries(outputs)) {
      if (!steps.has(step)) throw new WorkflowDefinitionError(`@Workflow migrate from ${m.from} converts the output of '${step}', which is not a step of version ${version}`, className);
      if (typeof convert !== 'function') throw new WorkflowDefinitionError(`@Workflow migrate outputs of '${step}' must be a function (old output) => new output`, className);
    }
    if (m.input !== undefined && typeof m.input !== 'function') throw new WorkflowDefinitionError(`@Workflow migrate input must be a function (old input) => new input`, className);
    migrations.set(m.from, m);
  }
  return migrations;
}
