/**
 * waymark/bullmq on the machine's Redis (`REDIS_URL`, else 127.0.0.1:6379, else a redis-server of its own):
 *
 * - throughput: 1,000 workflows × 5 short steps on FileStorage through the queue, with 1 and with 2
 *   worker processes (concurrency 8 each), against the same 1,000 workflows run in this process
 *   without a queue (8 at a time). Timed from the moment the paused queue is resumed (every job is
 *   queued, every worker is up) to the last workflow completed;
 * - wake latency: a workflow whose second step waits 300 ms, through a queue worker in this process:
 *   the timer's due time → the step started (the delayed job's promotion and delivery), median of 10.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueEvents } from 'bullmq';
import { Step, Workflow } from '../../decorators';
import { QueueWorker, WorkflowQueue } from '../../lib/bullmq';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { chainWorkflow } from '../../spec/fixtures/chain-flow';
import { dropQueue, queueName, redisTarget, type RedisTarget } from '../../spec/helpers/redis';

export const QUEUE_WORKFLOWS = 1_000;
const STEPS = 5;
const CONCURRENCY = 8;
const ROOT = join(__dirname, '..', '..');

export interface BullmqBench {
  /** Workflows per second in one process without a queue. */
  readonly inProcessPerSecond: number;
  /** Workflows per second through the queue, by number of worker processes. */
  readonly queuePerSecond: { readonly workers: number; readonly perSecond: number; readonly ratio: number }[];
  /** Timer due → step started, through a delayed job. */
  readonly wakeMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function inProcess(dir: string): Promise<number> {
  const Chain = chainWorkflow(STEPS, 0);
  const runner = new WorkflowRunner({ storage: new FileStorage({ directory: join(dir, 'in-process') }), tracer: false });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < QUEUE_WORKFLOWS; i = next++) await runner.run(new Chain(), { workflowId: `wf-${i}`, input: { seed: i + 1 } });
    }),
  );
  return QUEUE_WORKFLOWS / ((performance.now() - started) / 1000);
}

async function throughQueue(redis: RedisTarget, dir: string, workers: number): Promise<number> {
  const name = queueName('bench');
  const store = join(dir, `queue-${workers}`);
  const Chain = chainWorkflow(STEPS, 0);
  const queue = new WorkflowQueue({ connection: redis, name, jobOptions: { removeOnComplete: true } });
  const events = new QueueEvents(name, { connection: redis });
  const children: ChildProcess[] = [];
  try {
    await events.waitUntilReady();
    await queue.queue.pause();
    for (let i = 0; i < QUEUE_WORKFLOWS; i++) await queue.enqueue(Chain, { workflowId: `wf-${i}`, input: { seed: i + 1 } });
    for (let k = 0; k < workers; k++) {
      const child = fork(join(ROOT, 'spec/fixtures/queue-worker.ts'), {
        cwd: ROOT,
        execArgv: ['-r', 'ts-node/register/transpile-only'],
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', REDIS: `${redis.host}:${redis.port}`, QUEUE: name, STORE: `file:${store}`, STEPS: String(STEPS), CONCURRENCY: String(CONCURRENCY) },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      children.push(child);
      await new Promise<void>((resolve) => child.once('message', () => resolve()));
    }
    let completed = 0;
    const done = new Promise<void>((resolve) => events.on('completed', () => ++completed === QUEUE_WORKFLOWS && resolve()));
    const started = performance.now();
    await queue.queue.resume();
    await done;
    return QUEUE_WORKFLOWS / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(children.map((child) => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM')))));
    await events.close();
    await queue.close();
    await dropQueue(redis, name);
  }
}

/** When each timer step started, minus when it was due. */
const lateness: number[] = [];

@Workflow({ name: 'bench-timer' })
class Timer {
  @Step() plan() {
    return Date.now() + 300;
  }
  @Step({ startAt: (ctx: StepContext<unknown, number>) => ctx.previous }) fire(ctx: StepContext<unknown, number>) {
    lateness.push(Date.now() - ctx.previous);
    return true;
  }
}

export async function wakeLatency(redis: RedisTarget): Promise<number> {
  const name = queueName('bench-wake');
  const runner = new WorkflowRunner({ storage: new MemoryStorage(), workflows: [Timer], maxInlineWaitMs: 0, tracer: false });
  const queue = new WorkflowQueue({ connection: redis, name });
  const worker = new QueueWorker({ connection: redis, queue: name, runner });
  const events = new QueueEvents(name, { connection: redis });
  try {
    await Promise.all([worker.ready(), events.waitUntilReady()]);
    lateness.length = 0;
    for (let i = 0; i < 10; i++) {
      const completed = new Promise<void>((resolve) =>
        events.on('completed', ({ returnvalue }) => {
          const value = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as { workflowId: string; status: string };
          if (value.workflowId === `timer-${i}` && value.status === 'completed') resolve();
        }),
      );
      await queue.enqueue(Timer, { workflowId: `timer-${i}` });
      await completed;
    }
    return median(lateness);
  } finally {
    await worker.close({ deadlineMs: 0 });
    await events.close();
    await queue.close();
    await dropQueue(redis, name);
  }
}

export async function bullmq(): Promise<BullmqBench> {
  const redis = await redisTarget();
  const dir = mkdtempSync(join(tmpdir(), 'waymark-bench-bullmq-'));
  try {
    const inProcessPerSecond = await inProcess(dir);
    const queuePerSecond = [];
    for (const workers of [1, 2]) {
      const perSecond = await throughQueue(redis, dir, workers);
      queuePerSecond.push({ workers, perSecond, ratio: perSecond / inProcessPerSecond });
    }
    return { inProcessPerSecond, queuePerSecond, wakeMs: await wakeLatency(redis) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
