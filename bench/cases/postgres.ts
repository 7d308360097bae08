/**
 * PostgresStorage on the machine's server (`WAYMARK_PG_URL`, else 127.0.0.1:5432, database test), in
 * a schema of its own, dropped after:
 *
 * - durable steps: a 1,000-step chain, steps/s against a bare loop of single-row autocommit INSERTs
 *   of the same checkpoint bytes on the same server (what one round trip per step allows);
 * - resume: 999 and 9,999 committed steps, ms and queries of one resume;
 * - wake notice: `sendEvent` through one pool → the waiting step started by a worker on another pool
 *   that polls every 10 minutes (LISTEN/NOTIFY through the server; median of 20).
 */
import { Pool } from 'pg';
import { encodeValue } from '../../lib/checkpoint-codec';
import { buildGraph, storedSteps } from '../../lib/graph';
import { isoNow } from '../../lib/iso-now';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { PostgresStorage } from '../../lib/storage/postgres';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { PaidFlow } from '../../spec/fixtures/paid-flow';
import { freshSchema, PG_URL } from '../../spec/helpers/postgres';
import { generatedWorkflow, measurePair, type PairResult } from '../harness';

export const PG_STEPS = 1_000;
const payload = (i: number) => ({ i, s: 'x'.repeat(64) });
const Chain = generatedWorkflow(PG_STEPS, payload);

export interface PostgresBench {
  readonly commit: PairResult & { readonly measuredPerSecond: number; readonly baselinePerSecond: number };
  readonly resume: readonly { readonly steps: number; readonly ms: number; readonly queries: number }[];
  readonly wakeMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function postgres(): Promise<PostgresBench> {
  const pg = await freshSchema(10);
  try {
    const s = `"${pg.schema}"`;
    await pg.pool.query(`CREATE TABLE ${s}.bare (workflow_id text, step text, data text, PRIMARY KEY (workflow_id, step))`);
    let n = 0;
    const runner = new WorkflowRunner({ storage: pg.storage, tracer: false });
    const commit = await measurePair({
      measured: () => runner.run(new Chain(), { workflowId: `chain-${n++}` }),
      baseline: async () => {
        const id = `bare-${n++}`;
        for (let i = 0; i < PG_STEPS; i++) {
          const data = JSON.stringify({ formatVersion: 1, step: `s${i}`, status: 'completed', attempts: 1, committedAt: isoNow(), output: encodeValue(payload(i)) });
          await pg.pool.query(`INSERT INTO ${s}.bare (workflow_id, step, data) VALUES ($1, $2, $3)`, [id, `s${i}`, data]);
        }
      },
      warmup: 1,
      rounds: 5,
    });

    // Resume of N steps with N-1 committed: seeded directly, then resumed; each timing restores the N-1 state.
    const resume: PostgresBench['resume'][number][] = [];
    for (const steps of [1_000, 10_000]) {
      const Workflow = generatedWorkflow(steps, (i, ctx) => (typeof ctx.previous === 'number' ? ctx.previous : 0) + 1);
      const graph = buildGraph(Workflow);
      const workflowId = `resume-${steps}`;
      await pg.storage.writeRecord(workflowId, { formatVersion: 1, workflowId, workflowName: graph.workflowName, fingerprint: 'seeded', steps: storedSteps(graph), updatedAt: isoNow() }, null);
      await pg.pool.query(
        `INSERT INTO ${s}.checkpoints (workflow_id, step, data)
           SELECT $1, 's' || g, json_build_object('formatVersion', 1, 'step', 's' || g, 'status', 'completed', 'attempts', 1, 'committedAt', $2::text, 'output', g + 1)::text
           FROM generate_series(0, $3 - 2) g`,
        [workflowId, isoNow(), steps],
      );
      const times: number[] = [];
      let queries = 0;
      for (let round = 0; round < 5; round++) {
        let counted = 0;
        const pool = new Pool({ connectionString: PG_URL, max: 10 });
        pool.on('error', () => undefined);
        const query = pool.query.bind(pool);
        (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
          counted++;
          return (query as (...a: unknown[]) => unknown)(...args);
        };
        const storage = new PostgresStorage({ pool, schema: pg.schema });
        const started = process.hrtime.bigint();
        await new WorkflowRunner({ storage, tracer: false }).run(new Workflow(), { workflowId, resume: true, fingerprint: 'seeded' });
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        queries = counted;
        await pool.end();
        await pg.pool.query(`DELETE FROM ${s}.checkpoints WHERE workflow_id = $1 AND step = $2`, [workflowId, `s${steps - 1}`]);
        const { record, version } = (await pg.storage.readRecord(workflowId))!;
        await pg.storage.writeRecord(workflowId, { ...record, completion: undefined, status: 'running' }, version);
      }
      resume.push({ steps, ms: median(times), queries });
    }

    // Wake notice across pools: the worker polls every 10 minutes, so only the notice starts the step.
    const workerPool = new Pool({ connectionString: PG_URL, max: 10 });
    workerPool.on('error', () => undefined);
    const workerRunner = new WorkflowRunner({ storage: new PostgresStorage({ pool: workerPool, schema: pg.schema }), workflows: [PaidFlow], tracer: false });
    const worker = new WorkflowWorker({ runner: workerRunner, pollIntervalMs: 600_000 });
    const started = new Map<string, number>();
    workerRunner.on('step:started', ({ workflowId, step }) => step === 'ship' && started.set(workflowId, Date.now()));
    const completed = new Map<string, () => void>();
    workerRunner.on('run:completed', ({ workflowId }) => completed.get(workflowId)?.());
    await worker.start();
    const sender = new WorkflowRunner({ storage: pg.storage, workflows: [PaidFlow], maxInlineWaitMs: 0, tracer: false });
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `wake-${i}`;
      await sender.run(new PaidFlow(), { workflowId: id, input: { cents: i } });
      const done = new Promise<void>((resolve) => completed.set(id, resolve));
      const sent = Date.now();
      await sender.sendEvent(id, 'paid', { by: 'bench' });
      await done;
      latencies.push(started.get(id)! - sent);
    }
    await worker.stop();
    await workerPool.end();
    return {
      commit: { ...commit, measuredPerSecond: PG_STEPS / (commit.measuredMs / 1000), baselinePerSecond: PG_STEPS / (commit.baselineMs / 1000), ratio: commit.baselineMs === 0 ? 0 : 1 / commit.ratio },
      resume,
      wakeMs: median(latencies),
    };
  } finally {
    await pg.drop();
  }
}
