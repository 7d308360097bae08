/**
 * What a migration does to one run, decided from its record and its stored checkpoint names alone
 * (the old version's class may be gone: the record keeps the graph its checkpoints were committed
 * under). Pure: it reads and writes nothing. Every reason to refuse is collected, each naming its step.
 */
import { sortCommitted } from '../../item-keys';
import type { StepGraph } from '../../graph';
import type { Migration } from '../../metadata';
import type { StoredStep, WorkflowRecord, WorkflowStatus } from '../../storage/records';
import { freshKey, StepKeys, storedBases } from './step-keys';

/** The statuses a migration moves: runs that are not finished, and failed ones (a resume goes on from the failed step). */
const MOVABLE: ReadonlySet<WorkflowStatus> = new Set(['running', 'waiting', 'failed']);

/** What moving one run does, as `runner.migrate` returns it (and a dry run lists). */
export interface MigrationPlan {
  readonly from: number;
  readonly to: number;
  /** Committed steps kept under the same name. */
  readonly kept: readonly string[];
  /** Committed steps kept under a new name: `{ old: new }`. */
  readonly renamed: Readonly<Record<string, string>>;
  /** Committed steps forgotten (declared `dropped`): not undone, not run again. */
  readonly dropped: readonly string[];
  /** Steps of the new version with nothing committed: they run when the workflow is resumed. */
  readonly toRun: readonly string[];
  /** Why it cannot be done, each naming a step; empty when it can. */
  readonly refused: readonly string[];
}

/** The plan and the record parts it rewrites (when nothing refuses it). */
export interface PlannedMigration extends MigrationPlan {
  /** Where each step of the new version is stored (the record's `stepKeys`). */
  readonly stepKeys: Readonly<Record<string, string>>;
  /** Renames `record`'s per-step fields (waiting, timers, branches, polls, fan-out and child counts, error). */
  readonly renameFields: (record: WorkflowRecord) => Partial<WorkflowRecord>;
}

/** Plans moving the run in `record` (with the stored checkpoint names `storedNames`) along `hops` to `target`. */
export function planMigration(record: WorkflowRecord, storedNames: readonly string[], hops: readonly Migration[], target: StepGraph): PlannedMigration {
  const from = record.version ?? 1;
  const refused: string[] = [];
  const status = record.status ?? 'running';
  if (!MOVABLE.has(status)) {
    refused.push(
      status === 'completed'
        ? 'it completed (nothing is left to run; restart it from a step under its own version instead)'
        : status === 'compensating'
          ? `it is compensating: its compensations are version ${record.version ?? 1}'s code, so register that version beside the new one until it is compensated`
          : `it is ${status} (its steps were undone or cancelled: start it afresh with resume: false instead)`,
    );
  }

  // Old step name → its name in the new version, or null when dropped along the way.
  const moved = new Map<string, string | null>(record.steps.map((s) => [s.name, s.name]));
  for (const hop of hops) {
    for (const [old, now] of moved) {
      if (now === null) continue;
      if (hop.dropped?.includes(now) === true) moved.set(old, null);
      else if (hop.renamed !== undefined && Object.hasOwn(hop.renamed, now)) moved.set(old, hop.renamed[now]!);
    }
  }
  const oldKeys = StepKeys.of(record);
  const live = sortCommitted(oldKeys.live(storedNames));
  const committed = new Set(live.steps);
  const started = new Set([...live.lists, ...live.items.keys(), ...live.children].filter((s) => !committed.has(s)));
  const storedOf = new Map<string, StoredStep>(record.steps.map((s) => [s.name, s]));

  const kept: string[] = [];
  const renamed: Record<string, string> = {};
  const dropped: string[] = [];
  /** New step → old step whose checkpoints it keeps. */
  const keptFrom = new Map<string, string>();
  for (const old of [...committed, ...started]) {
    const now = moved.has(old) ? moved.get(old)! : old;
    const partly = !committed.has(old);
    if (now === null) {
      if (live.children.has(old) && partly) refused.push(`step '${old}' started child workflows that have not all been collected: finish or cancel them under version ${from} first`);
      else if (!partly) dropped.push(old);
      continue;
    }
    const node = target.byName.get(now);
    if (node === undefined) {
      refused.push(`${partly ? 'step' : 'committed step'} '${old}' of version ${from} is not a step of version ${target.version}: declare it renamed or dropped in @Workflow({ migrate })`);
      continue;
    }
    const before = storedOf.get(old);
    const kinds: [string, boolean, boolean][] = [
      ['a fan-out (forEach)', before?.forEach === true, node.fanOut !== undefined],
      ['a branch (when)', before?.when === true, node.when !== undefined],
      ['a spawn of child workflows', before?.spawn === true, node.spawn !== undefined],
    ];
    for (const [kind, was, is] of kinds) if (was !== is && !(kind.startsWith('a branch') && partly)) refused.push(`step '${old}' ${was ? 'was' : 'was not'} ${kind} in version ${from} and ${is ? 'is' : 'is not'} in version ${target.version}: its commits would mean something else`);
    if (now !== old && live.children.has(old) && partly) refused.push(`step '${old}' started child workflows that have not all been collected, and their outcomes are addressed to its old name: finish them under version ${from} first`);
    keptFrom.set(now, old);
    if (!partly) {
      if (now === old) kept.push(old);
      else renamed[old] = now;
    }
  }
  // A kept commit must not come before a step the new graph runs first: it was computed without it.
  for (const [now, old] of keptFrom) {
    if (!committed.has(old)) continue;
    for (const dep of target.byName.get(now)!.after) {
      const source = keptFrom.get(dep);
      if (source === undefined || !committed.has(source)) refused.push(`committed step '${now}' needs '${dep}' in version ${target.version}, which has not run: its commit would lose a dependency it needs`);
    }
  }

  // Kept steps keep their stored names; every other step gets one no stored checkpoint uses.
  const used = storedBases(storedNames);
  const stepKeys: Record<string, string> = {};
  const taken = new Set<string>();
  for (const [now, old] of keptFrom) {
    const key = oldKeys.key(old);
    taken.add(key);
    if (key !== now) stepKeys[now] = key;
  }
  for (const node of target.steps) {
    if (keptFrom.has(node.name)) continue;
    if (!used.has(node.name) && !taken.has(node.name)) continue;
    const key = freshKey(node.name, new Set([...used, ...taken]));
    taken.add(key);
    stepKeys[node.name] = key;
  }
  const rename = (step: string): string | undefined => {
    const now = moved.has(step) ? moved.get(step)! : step;
    return now === null || !target.byName.has(now) ? undefined : now;
  };
  const renameFields = (r: WorkflowRecord): Partial<WorkflowRecord> => ({
    waiting: renameKeys(r.waiting, rename),
    timers: renameKeys(r.timers, rename),
    branches: renameKeys(r.branches, rename),
    polls: renameKeys(r.polls, rename),
    fanOuts: renameKeys(r.fanOuts, rename),
    children: renameKeys(r.children, rename),
    error: r.error?.step === undefined ? r.error : { ...r.error, step: rename(r.error.step) ?? r.error.step },
  });
  const toRun = target.stepNames.filter((name) => !committed.has(keptFrom.get(name) ?? '\u0000'));
  return { from, to: target.version, kept, renamed, dropped, toRun, refused, stepKeys, renameFields };
}

function renameKeys<T>(fields: Readonly<Record<string, T>> | undefined, rename: (step: string) => string | undefined): Readonly<Record<string, T>> | undefined {
  if (fields === undefined) return undefined;
  return Object.fromEntries(Object.entries(fields).flatMap(([step, value]) => {
    const now = rename(step);
    return now === undefined ? [] : [[now, value]];
  }));
}
