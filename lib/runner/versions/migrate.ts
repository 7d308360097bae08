/**
 * `runner.migrate(workflowId, { to })`: moves a run to another version of its workflow, checked
 * before it writes (see `migration-plan.ts`), under the lease, in one conditional write of its
 * record: the version, the new graph, where each step's checkpoints are (`stepKeys`), the input's
 * fingerprint under the new class, and the per-step fields under their new names. No checkpoint is
 * rewritten, so a crash leaves the run on one version or the other, never between.
 */
import { decodeValue, encodeValue, UnencodableValue } from '../../checkpoint-codec';
import { CheckpointCorruptedError, InvalidOptionError, MigrationRefusedError, WorkflowInputError, WorkflowNotFoundError, WorkflowNotRegisteredError } from '../../errors';
import { buildGraph, storedSteps, type StepGraph } from '../../graph';
import { isoNow } from '../../iso-now';
import type { Constructor, Migration } from '../../metadata';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { Checkpoint, VersionChange, WorkflowRecord } from '../../storage/records';
import { assertWorkflowId } from '../../workflow-id';
import { encodeInput } from '../run-input';
import { validateInput } from '../validate-input';
import { isUnfinished, statusOf } from '../workflow-info';
import { planMigration, type MigrationPlan } from './migration-plan';
import { freshKey, keyedStorage, StepKeys, storedBases } from './step-keys';
import { underLease } from './under-lease';

/** Options of `runner.migrate`. */
export interface MigrateOptions {
  /** The version to move to; default the newest this runner registers. */
  readonly to?: number;
  /** Only say what would change: nothing is written, and no lease is taken. */
  readonly dryRun?: boolean;
}

/** What `runner.migrate` did (or, with `dryRun`, would do) to one run. */
export interface MigrationResult extends Omit<MigrationPlan, 'refused'> {
  readonly workflowId: string;
  /** Kept steps whose committed output the migration converts (`migrate: { outputs }`). */
  readonly converted: readonly string[];
  readonly dryRun: boolean;
  /** True when the run was on `to` already: nothing to do, nothing written. */
  readonly unchanged?: true;
}

/** What a migration needs of the runner. */
export interface MigrateDeps {
  readonly storage: CheckpointStorage;
  readonly owner: string;
  /** The registered class of `workflowName` in `version` (default the newest), or undefined. */
  classOf(workflowName: string, version?: number): Constructor | undefined;
  /** The versions of `workflowName` registered. */
  versions(workflowName: string): readonly number[];
  /** The fingerprint a run of `target` with `input` stores. */
  fingerprint(target: Constructor, workflowId: string, input: unknown): Promise<string>;
  /** Wakes the workers for a run that goes on. */
  wake(workflowId: string): Promise<void>;
}

/** The migrations that lead from version `from` to `target`'s, through registered versions; undefined when none does. */
export function migrationPath(d: Pick<MigrateDeps, 'classOf'>, workflowName: string, from: number, target: StepGraph, seen = new Set<number>()): Migration[] | undefined {
  const direct = target.migrations.get(from);
  if (direct !== undefined) return [direct];
  for (const [via, hop] of [...target.migrations].sort(([a], [b]) => b - a)) {
    if (via < from || seen.has(via)) continue;
    const middle = d.classOf(workflowName, via);
    if (middle === undefined) continue;
    const rest = migrationPath(d, workflowName, from, buildGraph(middle), new Set([...seen, via]));
    if (rest !== undefined) return [...rest, hop];
  }
  return undefined;
}

/** Moves workflow `workflowId` to version `options.to` (see the module's comment). */
export async function migrateWorkflow(d: MigrateDeps, workflowId: string, options: MigrateOptions = {}): Promise<MigrationResult> {
  assertWorkflowId(workflowId);
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('migrate options', options, '{ to?, dryRun? }');
  if (options.to !== undefined && (!Number.isInteger(options.to) || options.to < 1)) throw new InvalidOptionError('to', options.to, 'a version (an integer >= 1)');
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') throw new InvalidOptionError('dryRun', options.dryRun, 'true or false');
  const decide = async (record: WorkflowRecord, storedNames: readonly string[]) => {
    const from = record.version ?? 1;
    const target = d.classOf(record.workflowName, options.to);
    if (target === undefined) throw new WorkflowNotRegisteredError(workflowId, record.workflowName, options.to, d.versions(record.workflowName));
    const graph = buildGraph(target);
    if (graph.version === from) return { unchanged: true as const, from };
    if (graph.version < from) throw new MigrationRefusedError(workflowId, from, graph.version, [`version ${graph.version} is older than the run's: runs only move forward`]);
    const hops = migrationPath(d, record.workflowName, from, graph);
    if (hops === undefined) throw new MigrationRefusedError(workflowId, from, graph.version, [`no migration leads there: declare @Workflow({ version: ${graph.version}, migrate: { from: ${from}, renamed?, dropped? } }) (or register the versions between, each with its own)`]);
    const plan = planMigration(record, storedNames, hops, graph);
    if (plan.refused.length > 0) throw new MigrationRefusedError(workflowId, from, graph.version, plan.refused);
    return { unchanged: false as const, plan, hops, graph, target };
  };
  const result = (p: MigrationPlan, converted: readonly string[], dryRun: boolean): MigrationResult => ({ workflowId, from: p.from, to: p.to, kept: p.kept, renamed: p.renamed, dropped: p.dropped, toRun: p.toRun, converted, dryRun });
  if (options.dryRun === true) {
    const stored = await d.storage.load(workflowId);
    if (stored?.record === undefined) throw new WorkflowNotFoundError(workflowId);
    const decided = await decide(stored.record, stored.committedSteps);
    if (decided.unchanged) return unchanged(workflowId, decided.from, true);
    const outputs = await convertOutputs(d.storage, workflowId, stored.record, decided.hops, decided.graph, decided.plan);
    return result(decided.plan, [...outputs.keys()], true);
  }
  const outcome = await underLease(d.storage, workflowId, `migrate (${d.owner})`, async ({ lease, stored }) => {
    const { record, recordVersion } = stored;
    const decided = await decide(record, stored.committedSteps);
    if (decided.unchanged) return unchanged(workflowId, decided.from, false);
    const { plan, hops, graph, target } = decided;
    const input = await convertInput(workflowId, record, hops, graph, plan);
    const fingerprint = await d.fingerprint(target, workflowId, input.value);
    // Converted outputs are committed first, each under a name of its own: until the record moves, nobody reads them.
    const outputs = await convertOutputs(d.storage, workflowId, record, hops, graph, plan);
    const stepKeys: Record<string, string> = { ...plan.stepKeys };
    const used = new Set([...storedBases(stored.committedSteps), ...Object.values(stepKeys)]);
    for (const [step, checkpoint] of outputs) {
      const key = freshKey(step, used);
      used.add(key);
      await d.storage.commit(workflowId, { ...checkpoint, step: key }, lease);
      stepKeys[step] = key;
    }
    const change: VersionChange = { kind: 'migrated', at: isoNow(), from: plan.from, to: plan.to, status: statusOf(record), ...(Object.keys(plan.renamed).length === 0 ? {} : { renamed: plan.renamed }), ...(plan.dropped.length === 0 ? {} : { discarded: plan.dropped }) };
    const { stranded: _stranded, ...rest } = record;
    const next: WorkflowRecord = {
      ...rest,
      ...plan.renameFields(record),
      version: graph.version,
      steps: storedSteps(graph),
      stepKeys,
      fingerprint,
      input: input.encoded,
      compensates: graph.compensates ? true : undefined,
      history: [...(record.history ?? []), change].slice(-20),
      updatedAt: isoNow(),
    };
    await d.storage.writeRecord(workflowId, next, recordVersion, lease);
    return result(plan, [...outputs.keys()], false);
  });
  // It goes on at once, on its new version: a worker that parked it as stranded need not wait.
  if (!outcome.dryRun && outcome.unchanged === undefined) {
    const now = (await d.storage.readRecord(workflowId))?.record;
    if (now !== undefined && isUnfinished(statusOf(now))) await d.wake(workflowId);
  }
  return outcome;
}

function unchanged(workflowId: string, version: number, dryRun: boolean): MigrationResult {
  return { workflowId, from: version, to: version, kept: [], renamed: {}, dropped: [], toRun: [], converted: [], dryRun, unchanged: true };
}

/** The run's input under the new version: converted by the hops that declare `input`, validated by the new input class. */
async function convertInput(workflowId: string, record: WorkflowRecord, hops: readonly Migration[], graph: StepGraph, plan: MigrationPlan): Promise<{ value: unknown; encoded: WorkflowRecord['input'] }> {
  if (record.input === undefined) throw new MigrationRefusedError(workflowId, plan.from, plan.to, ['no input is stored in its record (written by waymark 0.1): it cannot be resumed by id']);
  let value: unknown;
  try {
    value = decodeValue(record.input, 'input');
  } catch (error) {
    if (!(error instanceof UnencodableValue)) throw error;
    throw new CheckpointCorruptedError(workflowId, 'the input in its record', error.message, { cause: error });
  }
  const converts = hops.some((h) => h.input !== undefined);
  for (const hop of hops) if (hop.input !== undefined) value = hop.input(value);
  if (graph.inputClass !== undefined) {
    try {
      await validateInput(workflowId, graph.inputClass, value);
    } catch (error) {
      if (!(error instanceof WorkflowInputError)) throw error;
      throw new MigrationRefusedError(workflowId, plan.from, plan.to, [`its input does not satisfy version ${plan.to}'s input class (${error.message})${converts ? '' : ': declare migrate input to convert it'}`]);
    }
  }
  return { value, encoded: converts ? encodeInput(workflowId, value) : record.input };
}

/**
 * The kept steps' checkpoints with their outputs converted by the hops' `outputs` (each hop's
 * functions are named in its own version; later hops' renames carry them to the target's names).
 * Reads only; a function that throws, or returns what cannot be stored, refuses the migration.
 */
async function convertOutputs(storage: CheckpointStorage, workflowId: string, record: WorkflowRecord, hops: readonly Migration[], graph: StepGraph, plan: MigrationPlan): Promise<Map<string, Checkpoint>> {
  const converters = new Map<string, ((old: unknown) => unknown)[]>();
  hops.forEach((hop, i) => {
    for (const [step, convert] of Object.entries(hop.outputs ?? {})) {
      let name: string | undefined = step;
      for (const later of hops.slice(i + 1)) {
        if (name !== undefined && later.dropped?.includes(name) === true) name = undefined;
        else if (name !== undefined && later.renamed !== undefined && Object.hasOwn(later.renamed, name)) name = later.renamed[name];
      }
      if (name !== undefined) converters.set(name, [...(converters.get(name) ?? []), convert]);
    }
  });
  const oldOf = new Map<string, string>([...plan.kept.map((s): [string, string] => [s, s]), ...Object.entries(plan.renamed).map(([old, now]): [string, string] => [now, old])]);
  const view = keyedStorage(storage, workflowId, StepKeys.of(record));
  const converted = new Map<string, Checkpoint>();
  for (const [step, converts] of converters) {
    const old = oldOf.get(step);
    if (old === undefined) continue; // not committed: it runs under the new code, nothing to convert
    const refuse = (why: string) => new MigrationRefusedError(workflowId, plan.from, plan.to, [`the output of step '${step}' ${why}`]);
    if (graph.byName.get(step)?.fanOut !== undefined) throw refuse('cannot be converted: it is a fan-out (its items are committed one by one)');
    const checkpoint = await view.readCheckpoint(workflowId, old);
    let value: unknown;
    try {
      value = decodeValue(checkpoint.output);
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new CheckpointCorruptedError(workflowId, `checkpoint of step '${old}'`, error.message, { cause: error });
    }
    try {
      for (const convert of converts) value = await convert(value);
    } catch (error) {
      throw refuse(`could not be converted: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      converted.set(step, { ...checkpoint, output: encodeValue(value) });
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw refuse(`was converted to a value that cannot be stored (${error.path}: ${error.reason})`);
    }
  }
  return converted;
}
