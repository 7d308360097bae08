/**
 * Where each step's checkpoints are stored. Checkpoints are written once and never rewritten: a
 * migration that renames a step, or a restart that runs a step again, changes which stored names
 * are live, in the workflow record alone (`stepKeys`, one conditional write under the lease), and
 * a step run again commits under a fresh name (`<step>\u001e<n>`). Stored names no live step owns
 * are hidden from the run and deleted with the workflow.
 *
 * A record without `stepKeys` (every record a migration or restart never touched) stores each step
 * under its own name, and nothing here translates or hides anything.
 */
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { Checkpoint, StoredWorkflow, WorkflowRecord } from '../../storage/records';

/** Between a step's name and its generation in a stored name: the ASCII record separator, never in a step name. */
const GENERATION = '\u001e';
/** Between a stored step name and a fan-out's or spawn's suffix (see `lib/item-keys.ts`). */
const SUFFIX = '\u001f';

/** The base of a stored checkpoint name: the part before a fan-out's or spawn's suffix. */
function baseOf(name: string): [base: string, suffix: string] {
  const at = name.indexOf(SUFFIX);
  return at === -1 ? [name, ''] : [name.slice(0, at), name.slice(at)];
}

/** The step name → stored name map of one workflow, and its inverse. */
export class StepKeys {
  /** True when every step is stored under its own name: nothing is translated or hidden. */
  readonly identity: boolean;
  private readonly byStep: ReadonlyMap<string, string>;
  private readonly byKey: ReadonlyMap<string, string>;

  /** `stepKeys` as the record stores them; `steps` every step name that may have checkpoints. */
  constructor(stepKeys: Readonly<Record<string, string>> | undefined, steps: Iterable<string>) {
    const map = new Map<string, string>();
    if (stepKeys !== undefined) for (const step of steps) map.set(step, stepKeys[step] ?? step);
    // `{}` is not the identity: it hides stored names no step owns (a migration's dropped steps).
    this.identity = stepKeys === undefined;
    this.byStep = map;
    this.byKey = new Map([...map].map(([step, key]) => [key, step]));
  }

  /** For a record: its steps (and `more`, the steps of the graph about to run) under the record's keys. */
  static of(record: WorkflowRecord | undefined, more: readonly string[] = []): StepKeys {
    return new StepKeys(record?.stepKeys, [...(record?.steps ?? []).map((s) => s.name), ...more]);
  }

  /** The stored name of checkpoint `name` (a step's own, or its list, item or children). */
  key(name: string): string {
    if (this.identity) return name;
    const [base, suffix] = baseOf(name);
    return (this.byStep.get(base) ?? base) + suffix;
  }

  /** The checkpoint name a stored name stands for, or undefined when no live step owns it. */
  name(stored: string): string | undefined {
    if (this.identity) return stored;
    const [base, suffix] = baseOf(stored);
    const step = this.byKey.get(base);
    return step === undefined ? undefined : step + suffix;
  }

  /** The stored names of live steps, as checkpoint names. */
  live(storedNames: readonly string[]): string[] {
    if (this.identity) return [...storedNames];
    return storedNames.flatMap((n) => this.name(n) ?? []);
  }
}

/** The stored bases in `storedNames` (every generation of every step, live or not). */
export function storedBases(storedNames: readonly string[]): Set<string> {
  return new Set(storedNames.map((n) => baseOf(n)[0]));
}

/** A stored name for `step` that no stored checkpoint uses: `<step>\u001e<n>`, the lowest n free. */
export function freshKey(step: string, used: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const key = `${step}${GENERATION}${n}`;
    if (!used.has(key)) return key;
  }
}

/** The step a stored base belongs to (its generation dropped). */
export function stepOfKey(key: string): string {
  const at = key.indexOf(GENERATION);
  return at === -1 ? key : key.slice(0, at);
}

/**
 * `storage` as workflow `workflowId`'s runs see it: checkpoints read and committed by step name,
 * stored under the names `keys` gives, and `load` listing live steps only. Other workflows, and
 * everything but checkpoints, pass through.
 */
export function keyedStorage(storage: CheckpointStorage, workflowId: string, keys: StepKeys): CheckpointStorage {
  if (keys.identity) return storage;
  const own = (id: string) => id === workflowId;
  const rename = (checkpoint: Checkpoint, step: string): Checkpoint => ({ ...checkpoint, step });
  const overrides: Partial<CheckpointStorage> = {
    load: async (id) => {
      const stored = await storage.load(id);
      if (!own(id) || stored === undefined) return stored;
      return { ...stored, committedSteps: keys.live(stored.committedSteps) } satisfies StoredWorkflow;
    },
    readCheckpoint: async (id, step) => (own(id) ? rename(await storage.readCheckpoint(id, keys.key(step)), step) : storage.readCheckpoint(id, step)),
    commit: (id, checkpoint, lease) => storage.commit(id, own(id) ? rename(checkpoint, keys.key(checkpoint.step)) : checkpoint, lease),
  };
  if (storage.readCheckpoints !== undefined) {
    overrides.readCheckpoints = async (id, steps) => {
      if (!own(id)) return storage.readCheckpoints!(id, steps);
      const read = await storage.readCheckpoints!(id, steps.map((s) => keys.key(s)));
      return read.map((checkpoint, i) => rename(checkpoint, steps[i]!));
    };
  }
  if (storage.commitMany !== undefined) {
    overrides.commitMany = (id, checkpoints, lease) => storage.commitMany!(id, own(id) ? checkpoints.map((c) => rename(c, keys.key(c.step))) : checkpoints, lease);
  }
  return new Proxy(storage, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof CheckpointStorage];
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
