/**
 * Chaos through a real queue: 4 worker processes on one Redis and one FileStorage, one SIGKILLed
 * every 300–900 ms and replaced, 40 workflows of 5 steps, a third of them enqueued twice under
 * different job ids (as an at-least-once producer does). Every workflow must complete with the
 * right output, with no step started after its commit, no step run by a process that did not hold
 * the workflow's lease, and re-runs only of steps whose process was killed before committing them.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowQueue } from '../../lib/bullmq';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { chainWorkflow } from '../fixtures/chain-flow';
import { pipelineStepOutput, type PipelineOutput } from '../fixtures/pipeline-output';
import { dropQueue, queueName, redisTarget, type RedisTarget } from '../helpers/redis';
import { tempDir } from '../helpers/temp-dir';
import { TS_REGISTER } from '../helpers/child';

const ROOT = join(__dirname, '..', '..');
const WORKFLOWS = 40;
const STEPS = 5;
const Chain = chainWorkflow(STEPS, 0);

interface Fleet {
  /** Worker processes, by pid, with whether each is up (taking jobs). */
  readonly live: Map<number, { child: ChildProcess; up: boolean }>;
  start(k: number): Promise<void>;
}

function expectedOutput(seed: number): PipelineOutput {
  let out: PipelineOutput | undefined;
  for (let i = 0; i < STEPS; i++) out = pipelineStepOutput(i, out, seed);
  return out!;
}

describe('waymark/bullmq under chaos: 4 worker processes, one SIGKILLed every 300-900 ms', function () {
  this.timeout(240_000);
  let redis: RedisTarget;

  before(async () => {
    redis = await redisTarget();
  });

  for (const variant of [
    { title: 'owners told apart by pid on one host', owners: false, leaseTtlMs: 30_000 },
    { title: 'distinct owner identities (as separate machines) and a 3 s lease', owners: true, leaseTtlMs: 3_000 },
  ]) {
    it(`every workflow completes once per step with ${variant.title}`, async () => {
      const name = queueName('chaos');
      const dir = await tempDir('waymark-chaos-');
      const journal = join(dir.path, 'events.log');
      const store = join(dir.path, 'store');
      const storage = new FileStorage({ directory: store });
      const runner = new WorkflowRunner({ storage, workflows: [Chain] });
      const queue = new WorkflowQueue({ connection: redis, name, runner });
      const fleet: Fleet = {
        live: new Map(),
        async start(k: number) {
          const child = spawn(process.execPath, ['-r', TS_REGISTER, join(ROOT, 'spec/fixtures/queue-worker.ts')], {
            cwd: ROOT,
            env: {
              ...process.env,
              TS_NODE_TRANSPILE_ONLY: '1',
              REDIS: `${redis.host}:${redis.port}`,
              QUEUE: name,
              STORE: `file:${store}`,
              EVENTS: journal,
              STEPS: String(STEPS),
              STEP_MS: '150',
              CONCURRENCY: '2',
              STALLED_MS: '1000',
              LEASE_TTL_MS: String(variant.leaseTtlMs),
              ...(variant.owners ? { OWNER: `machine-${k}` } : {}),
            },
            stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
          });
          const entry = { child, up: false };
          fleet.live.set(child.pid!, entry);
          await new Promise<void>((resolve, reject) => {
            child.once('message', () => resolve((entry.up = true) && undefined));
            child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`worker ${k} exited before it was up (${code ?? signal})`))));
          });
        },
      };
      let kills = 0;
      try {
        for (let i = 0; i < WORKFLOWS; i++) {
          await queue.enqueue(Chain, { workflowId: `wf-${i}`, input: { seed: i + 1 } });
          if (i % 3 === 0) await queue.enqueue(Chain, { workflowId: `wf-${i}`, input: { seed: i + 1 }, jobId: `again-${i}` });
        }
        let next = 0;
        await Promise.all([0, 1, 2, 3].map(() => fleet.start(next++)));
        const completed = async () => {
          const infos = await Promise.all(Array.from({ length: WORKFLOWS }, (_, i) => runner.get(`wf-${i}`)));
          return infos.filter((info) => info?.status === 'completed').length;
        };
        // What a failure says about the workflows left: their status and their jobs' states.
        const unfinished = async () => {
          const jobs = await queue.queue.getJobs(['active', 'waiting', 'delayed', 'failed', 'completed', 'prioritized']);
          const left = [];
          for (let i = 0; i < WORKFLOWS; i++) {
            const info = await runner.get(`wf-${i}`);
            if (info?.status === 'completed') continue;
            const of = jobs.filter((j) => (j.data as { workflowId?: string }).workflowId === `wf-${i}`);
            const states = await Promise.all(of.map(async (j) => `${j.id}:${await j.getState()}${j.failedReason ? ` (${j.failedReason})` : ''} stalled ${j.stalledCounter}`));
            left.push(`wf-${i} ${info?.status ?? 'not stored'} [${states.join(', ')}]`);
          }
          return left.join('; ');
        };
        const deadline = Date.now() + 180_000;
        const starting: Promise<void>[] = [];
        // Kill and replace until every workflow completed (a kill is the event under test, not a wait).
        while ((await completed()) < WORKFLOWS) {
          if (Date.now() > deadline) throw new Error(`only ${await completed()} of ${WORKFLOWS} workflows completed in 180 s (${kills} kills): ${await unfinished()}`);
          await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(Math.random() * 600)));
          if ((await completed()) === WORKFLOWS) break;
          // A victim among the workers that are up; its replacement starts in the background.
          const up = [...fleet.live.entries()].filter(([, w]) => w.up).map(([pid]) => pid);
          if (up.length === 0) continue;
          const pid = up[Math.floor(Math.random() * up.length)]!;
          const victim = fleet.live.get(pid)!.child;
          fleet.live.delete(pid);
          const gone = new Promise((resolve) => victim.once('exit', resolve));
          victim.kill('SIGKILL');
          await gone;
          appendFileSync(journal, `${pid} killed\n`);
          kills++;
          starting.push(fleet.start(next++));
        }
        await Promise.all(starting);
        // The queue saw no failure either (an output BullMQ cannot store, a job failed by the stalled check, would show here).
        expect(await queue.queue.getJobCounts('failed')).to.deep.equal({ failed: 0 });
      } finally {
        await Promise.all(
          [...fleet.live.values()].map(({ child }) => {
            const gone = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            return gone;
          }),
        );
        await queue.close();
        await dropQueue(redis, name);
      }

      expect(kills, 'the run was too short for any kill').to.be.greaterThan(0);
      for (let i = 0; i < WORKFLOWS; i++) {
        const info = await runner.get<unknown, PipelineOutput>(`wf-${i}`);
        expect(info?.status, `wf-${i}`).to.equal('completed');
        expect(info?.output, `wf-${i}`).to.deep.equal(expectedOutput(i + 1));
      }

      const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
      const killed = new Set(lines.filter(([, kind]) => kind === 'killed').map(([pid]) => pid));
      let reruns = 0;
      for (let i = 0; i < WORKFLOWS; i++) {
        const id = `wf-${i}`;
        const own = lines.filter(([, kind, wf]) => wf === id && kind !== 'killed');
        // Every step line comes from the process that acquired the lease last.
        let holder: string | undefined;
        for (const [pid, kind, , step] of own) {
          if (kind === 'acquired') holder = pid;
          else expect(pid, `${id}: '${kind} ${step ?? ''}' by ${pid} while ${holder} held the lease`).to.equal(holder);
        }
        for (let s = 0; s < STEPS; s++) {
          const step = `step${s}`;
          const ofStep = own.filter(([, kind, , name]) => name === step);
          let commit = ofStep.findIndex(([, kind]) => kind === 'committed');
          if (commit < 0) {
            // Its process was killed between the commit and the line saying so: it started the step last.
            const last = ofStep.filter(([, kind]) => kind === 'start').at(-1);
            expect(last, `${id} ${step} never started`).to.not.equal(undefined);
            expect(killed.has(last![0]!), `${id} ${step}: no line says it was committed, yet its process ${last![0]} lives`).to.equal(true);
            commit = ofStep.lastIndexOf(last!);
          } else {
            expect(ofStep.slice(commit + 1).filter(([, kind]) => kind === 'start'), `${id} ${step} started after its commit`).to.deep.equal([]);
          }
          const committer = ofStep[commit]![0];
          const starts = ofStep.slice(0, commit + 1).filter(([, kind]) => kind === 'start');
          expect(starts.at(-1)?.[0], `${id} ${step}: the committing process started it last`).to.equal(committer);
          // Each earlier start was cut short by a kill of its process.
          for (const [pid] of starts.slice(0, -1)) expect(killed.has(pid!), `${id} ${step} re-ran after process ${pid}, which was not killed`).to.equal(true);
          reruns += ofStep.filter(([, kind]) => kind === 'start').length - 1;
        }
      }
      // Printed for the closing note: how much chaos the run saw.
      console.log(`      ${kills} kills, ${reruns} step re-runs (each after a kill of the process running it)`);
      await dir.remove();
    });
  }
});
