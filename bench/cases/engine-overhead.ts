/**
 * Engine overhead: a 10,000-step sequential workflow on MemoryStorage with tiny outputs, against a
 * hand-written loop doing the same awaits and the same serialisation into a Map, and against the
 * floor: the least code that keeps a durable run's contract on the same storage.
 */
import { encodeValue } from '../../lib/checkpoint-codec';
import { storedSteps, buildGraph } from '../../lib/graph';
import { isoNow } from '../../lib/iso-now';
import { MemoryStorage, WorkflowRunner } from '../../lib';
import type { WorkflowRecord } from '../../lib/storage/records';
import { StepMethods } from '../../lib/runner/step-methods';
import { generatedWorkflow, measurePair, type PairResult } from '../harness';

export const STEPS = 10_000;

const step = async (i: number) => ({ i });
export const EngineWorkflow = generatedWorkflow(STEPS, (i) => step(i));

/** The three timings of one bench run. */
export interface EngineOverhead {
  /** The engine against the hand-written loop. */
  readonly engine: PairResult;
  /** The floor against the same loop. */
  readonly floor: PairResult;
  /** The engine against the floor. */
  readonly overFloor: PairResult;
}

/** The hand-written loop: each step awaited, its checkpoint's bytes put in a Map. Durable in nothing. */
async function handLoop(): Promise<void> {
  const checkpoints = new Map<string, string>();
  for (let i = 0; i < STEPS; i++) {
    const output = await step(i);
    // The same bytes the engine stores for a checkpoint.
    checkpoints.set(`s${i}`, JSON.stringify({ formatVersion: 1, step: `s${i}`, status: 'completed', attempts: 1, committedAt: isoNow(), output: encodeValue(output) }));
  }
}

/**
 * The floor: what any run of this workflow must do on MemoryStorage to keep waymark's contract, in a
 * single loop with nothing else. It takes the lease; writes the record with the step graph (what a
 * resume checks its definition against); per step it builds a context, calls the step as an attempt
 * the run can abandon (a cancelled run does not wait for a step that ignores its signal), encodes
 * the output, and commits it through the storage's fenced, asynchronous `commit`; then it builds
 * the result's entry per step, marks the record completed and releases the lease. No retries,
 * timers, events, concurrency, definition checks or hooks: those are the engine's, and cost what
 * `overFloor` shows.
 */
async function floorRun(workflow: object, n: number): Promise<void> {
  const storage = new MemoryStorage();
  const workflowId = `floor-${n}`;
  const attempt = await storage.acquireLease(workflowId, 'floor', 30_000);
  if (!attempt.acquired) throw new Error('floor: lease not acquired');
  const { lease } = attempt;
  const graph = buildGraph(EngineWorkflow);
  const now = isoNow();
  const record: WorkflowRecord = { formatVersion: 1, workflowId, workflowName: graph.workflowName, fingerprint: 'f', steps: storedSteps(graph), updatedAt: now, createdAt: now, status: 'running' };
  const version = await storage.writeRecord(workflowId, record, null, lease);
  const outputs = new Array<unknown>(STEPS).fill(undefined);
  let previous: unknown;
  const stop = new AbortController();
  // The method lookup the engine uses (a keyed load through the instance is slow on a 10,000-method class).
  const methods = new StepMethods(workflow);
  for (let i = 0; i < STEPS; i++) {
    const name = graph.stepNames[i]!;
    const ctx = { workflowId, step: name, attempt: 1, input: undefined, previous, signal: stop.signal };
    const output = await new Promise<unknown>((resolve, reject) => {
      (methods.get(name) as (ctx: unknown) => Promise<unknown>).call(workflow, ctx).then(resolve, reject);
    });
    await storage.commit(workflowId, { formatVersion: 1, step: name, status: 'completed', attempts: 1, committedAt: isoNow(), output: encodeValue(output), event: undefined }, lease);
    outputs[i] = previous = output;
  }
  const steps: Record<string, { status: string; attempts: number; output: unknown }> = {};
  for (let i = 0; i < STEPS; i++) steps[graph.stepNames[i]!] = { status: 'completed', attempts: 1, output: outputs[i] };
  await storage.writeRecord(workflowId, { ...record, status: 'completed', completion: { runId: 'r', completedAt: isoNow(), output: encodeValue(previous) } }, version, lease);
  await storage.releaseLease(lease);
}

export async function engineOverhead(): Promise<EngineOverhead> {
  let n = 0;
  const engine = () => new WorkflowRunner({ storage: new MemoryStorage(), tracer: false }).run(new EngineWorkflow(), { workflowId: `engine-${n++}` });
  const workflow = new EngineWorkflow();
  const floor = () => floorRun(workflow, n++);
  return {
    engine: await measurePair({ measured: engine, baseline: handLoop, rounds: 31, collect: false }),
    floor: await measurePair({ measured: floor, baseline: handLoop, rounds: 31, collect: false }),
    overFloor: await measurePair({ measured: engine, baseline: floor, rounds: 31, collect: false }),
  };
}
