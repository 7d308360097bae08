/**
 * Child workflows (`@Step({ spawn })`) on each store: a parent that starts 1,000 children, run by
 * an embedded worker (concurrency 50), against the same 1,000 workflows started directly (50 at
 * once, each `runner.run` to its end); and the parent's wake latency: from the last child's end to
 * the parent's step running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { FileStorage, MemoryStorage, WorkflowRunner, WorkflowWorker, type CheckpointStorage } from '../../lib';
import type { StepContext } from '../../lib/runner/step-context';
import { freshSchema } from '../../spec/helpers/postgres';

export const CHILDREN = 1_000;

export interface ChildrenRow {
  readonly storage: string;
  /** Children started, run and heard by their parent, per second. */
  readonly childrenPerSecond: number;
  /** The same workflows started directly, per second. */
  readonly directPerSecond: number;
  /** From the last child's end to the parent's step starting (ms). */
  readonly wakeMs: number;
  /** How many runs the parent took (coalesced wakes). */
  readonly parentRuns: number;
}

@Workflow({ name: 'bench-child' })
class Child {
  @Step() work(ctx: StepContext<{ i: number }>) {
    return ctx.input.i;
  }
}

let reportAt = 0;

@Workflow({ name: 'bench-parent' })
class Parent {
  @Step({ spawn: () => Array.from({ length: CHILDREN }, (_, i) => ({ workflow: Child, input: { i } })) })
  report(ctx: StepContext) {
    reportAt = performance.now();
    return (ctx.children as number[]).length;
  }
}

async function storeRow(name: string, storage: CheckpointStorage): Promise<ChildrenRow> {
  const runner = new WorkflowRunner({ storage, workflows: [Parent, Child], tracer: false });
  // Direct: the same workflows, 50 at once.
  let next = 0;
  let started = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < CHILDREN) {
        const i = next++;
        await runner.run(new Child(), { workflowId: `direct-${i}`, input: { i } });
      }
    }),
  );
  const directPerSecond = CHILDREN / ((performance.now() - started) / 1000);

  let lastChild = 0;
  let parentRuns = 0;
  runner.on('run:completed', (e) => {
    if (e.workflowId.startsWith('parent/')) lastChild = Math.max(lastChild, performance.now());
  });
  runner.on('run:started', (e) => e.workflowId === 'parent' && parentRuns++);
  const done = new Promise<void>((resolve) => runner.on('run:completed', (e) => e.workflowId === 'parent' && resolve()));
  const worker = new WorkflowWorker({ runner, concurrency: 50, pollIntervalMs: 1_000 });
  started = performance.now();
  worker.start();
  await runner.run(new Parent(), { workflowId: 'parent' });
  await done;
  const childrenPerSecond = CHILDREN / ((performance.now() - started) / 1000);
  await worker.stop();
  return { storage: name, childrenPerSecond, directPerSecond, wakeMs: reportAt - lastChild, parentRuns };
}

export async function children(): Promise<ChildrenRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'waymark-bench-children-'));
  const pg = await freshSchema(10);
  try {
    return [await storeRow('MemoryStorage', new MemoryStorage()), await storeRow('FileStorage', new FileStorage({ directory: dir })), await storeRow('PostgresStorage', pg.storage)];
  } finally {
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
