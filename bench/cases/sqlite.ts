/**
 * SqliteStorage against the disk's real limit, in one run:
 * - the disk: append one line to one file and `fdatasync`, 2,000 times (what a durable step can cost at best);
 * - SQLite itself: `node:sqlite` in WAL with `synchronous=FULL`, one single-row INSERT per transaction, 2,000 times;
 * - waymark: a 2,000-step chain on SqliteStorage, steps/s against both, and against FileStorage's chain;
 * - group commit: 100 independent steps at once, commits/s against SQLite's sequential loop;
 * - the event loop while the chain commits: how late a 1 ms timer fires (p99).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, SqliteStorage, WorkflowRunner } from '../../lib';
import { generatedWorkflow, median } from '../harness';
import { timerLateness } from './durable-commit';

const STEPS = 2_000;
const PARALLEL = 100;
const payload = (i: number) => ({ i, s: 'x'.repeat(64) });
const Chain = generatedWorkflow(STEPS, payload);
const Parallel = generatedWorkflow(PARALLEL, payload, { roots: true });

export interface SqliteResult {
  readonly diskPerSecond: number;
  readonly sqlitePerSecond: number;
  readonly chainPerSecond: number;
  readonly filePerSecond: number;
  readonly parallelPerSecond: number;
  /** 100 workflows of 10 steps at once, steps/s. */
  readonly concurrentPerSecond: number;
  readonly eventLoopP99Ms: number;
}

function perSecond(n: number, ms: number): number {
  return n / (ms / 1000);
}

export async function sqlite(): Promise<SqliteResult> {
  const root = mkdtempSync(join(tmpdir(), 'waymark-bench-sqlite-'));
  let n = 0;
  try {
    const disk = (): number => {
      const fd = openSync(join(root, `append-${n++}.log`), 'a');
      const started = performance.now();
      for (let i = 0; i < STEPS; i++) {
        writeSync(fd, `${JSON.stringify(payload(i))}\n`);
        fdatasyncSync(fd);
      }
      closeSync(fd);
      return perSecond(STEPS, performance.now() - started);
    };
    const bareSqlite = (): number => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string) => { exec(sql: string): void; prepare(sql: string): { run(...v: unknown[]): unknown }; close(): void } };
      const db = new DatabaseSync(join(root, `bare-${n++}.db`));
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID');
      const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
      const started = performance.now();
      for (let i = 0; i < STEPS; i++) {
        db.exec('BEGIN IMMEDIATE');
        insert.run(`s${i}`, JSON.stringify(payload(i)));
        db.exec('COMMIT');
      }
      db.close();
      return perSecond(STEPS, performance.now() - started);
    };
    const storage = new SqliteStorage({ path: join(root, 'waymark.db') });
    const runner = new WorkflowRunner({ storage, tracer: false, concurrency: PARALLEL });
    const chain = async (): Promise<number> => {
      const started = performance.now();
      await runner.run(new Chain(), { workflowId: `chain-${n++}` });
      return perSecond(STEPS, performance.now() - started);
    };
    const fileRunner = new WorkflowRunner({ storage: new FileStorage({ directory: join(root, 'files') }), tracer: false });
    const fileChain = async (): Promise<number> => {
      const started = performance.now();
      await fileRunner.run(new Chain(), { workflowId: `chain-${n++}` });
      return perSecond(STEPS, performance.now() - started);
    };
    let first = 0;
    let last = 0;
    runner.on('step:started', () => void (first ||= performance.now()));
    runner.on('step:committed', () => void (last = performance.now()));
    const parallel = async (): Promise<number> => {
      first = 0;
      await runner.run(new Parallel(), { workflowId: `parallel-${n++}` });
      return perSecond(PARALLEL, last - first);
    };
    const Ten = generatedWorkflow(10, payload);
    const concurrent = async (): Promise<number> => {
      const started = performance.now();
      const round = n++;
      await Promise.all(Array.from({ length: 100 }, (_, w) => runner.run(new Ten(), { workflowId: `c-${round}-${w}` })));
      return perSecond(1_000, performance.now() - started);
    };
    // Warm up, then three rounds each, interleaved; medians.
    disk();
    bareSqlite();
    await chain();
    const rounds = { disk: [] as number[], sqlite: [] as number[], chain: [] as number[], file: [] as number[], parallel: [] as number[], concurrent: [] as number[] };
    for (let i = 0; i < 3; i++) {
      rounds.disk.push(disk());
      rounds.sqlite.push(bareSqlite());
      rounds.chain.push(await chain());
      rounds.file.push(await fileChain());
      for (let k = 0; k < 3; k++) rounds.parallel.push(await parallel());
      rounds.concurrent.push(await concurrent());
    }
    const lateness: number[] = [];
    for (let i = 0; i < 3; i++) lateness.push((await timerLateness(() => chain())).p99Ms);
    await storage.close();
    return {
      diskPerSecond: median(rounds.disk),
      sqlitePerSecond: median(rounds.sqlite),
      chainPerSecond: median(rounds.chain),
      filePerSecond: median(rounds.file),
      parallelPerSecond: median(rounds.parallel),
      concurrentPerSecond: median(rounds.concurrent),
      eventLoopP99Ms: median(lateness),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
