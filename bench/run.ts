/**
 * `npm run bench`: what durability costs, each case measured against a bare baseline in the same
 * process. Prints a table and writes bench/results.json. Not part of `npm test`.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { durableCommit } from './cases/durable-commit';
import { engineOverhead } from './cases/engine-overhead';
import { PG_STEPS, postgres } from './cases/postgres';
import { bullmq, QUEUE_WORKFLOWS } from './cases/bullmq';
import { fanOut } from './cases/fan-out';
import { FAN_OUT_ITEMS, items } from './cases/items';
import { CHILDREN, children } from './cases/children';
import { sqlite } from './cases/sqlite';
import { fingerprint } from './cases/fingerprint';
import { memory } from './cases/memory';
import { resume } from './cases/resume';
import { freshResume, FRESH_STEPS } from './cases/fresh-resume';
import { waits } from './cases/waits';
import { recovery, RECOVERY_TTL_MS } from './cases/recovery';
import { flow, FLOW_STEPS } from './cases/flow';

const ms = (v: number) => `${v.toFixed(1)} ms`;
const mb = (v: number) => `${(v / 1_000_000).toFixed(1)} MB`;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

async function main(): Promise<void> {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') console.warn('run with --expose-gc for steadier numbers (npm run bench does)');
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` };
  const started = Date.now();
  const log = (what: string) => console.error(`[bench] ${what} (${((Date.now() - started) / 1000).toFixed(0)} s)`);

  log('engine overhead');
  const engine = await engineOverhead();
  log('durable commit');
  const commit = await durableCommit();
  log('sqlite');
  const lite = await sqlite();
  log('fingerprint');
  const fp = await fingerprint();
  log('fan-out');
  const fan = await fanOut();
  log('per-item fan-out');
  const perItem = await items();
  log('child workflows');
  const childRows = await children();
  log('resume');
  const resumeRows = await resume();
  log('resume in a fresh process');
  const fresh = await freshResume();
  log('memory');
  const mem = await memory();
  log('waits and the worker');
  const wait = await waits();
  log('recovery of a killed run');
  const recovered = await recovery();
  log('flow control');
  const flowRows = await flow();
  log('postgres');
  const pg = await postgres();
  log('bullmq');
  const queue = await bullmq();

  const rows: string[][] = [
    ['engine overhead: 10,000 steps, MemoryStorage', ms(engine.engine.measuredMs), `hand-written loop ${ms(engine.engine.baselineMs)}`, `time ×${engine.engine.ratio.toFixed(2)}`, '≤ 1.3', verdict(engine.engine.ratio <= 1.3)],
    ['engine floor: the same run in one loop, contract kept', ms(engine.floor.measuredMs), `hand-written loop ${ms(engine.floor.baselineMs)}`, `time ×${engine.floor.ratio.toFixed(2)}`, 'reported', ''],
    ['engine over its floor', ms(engine.overFloor.measuredMs), `floor ${ms(engine.overFloor.baselineMs)}`, `time ×${engine.overFloor.ratio.toFixed(2)}`, '≤ 1.3', verdict(engine.overFloor.ratio <= 1.3)],
    ['durable commit: 2,000 steps in a chain, FileStorage', `${commit.sequential.measuredPerSecond.toFixed(0)} steps/s`, `synchronous atomic writes ${commit.sequential.baselinePerSecond.toFixed(0)}/s`, `throughput ×${commit.sequential.ratio.toFixed(2)}`, '≥ 0.85', verdict(commit.sequential.ratio >= 0.85)],
    ['durable commit: 100 independent steps at once', `${commit.parallel.perSecond.toFixed(0)} commits/s`, `synchronous atomic writes ${commit.parallel.baselinePerSecond.toFixed(0)}/s`, `throughput ×${commit.parallel.ratio.toFixed(2)}`, '≥ 1.5', verdict(commit.parallel.ratio >= 1.5)],
    ['the same, the whole run (lease to release)', `${commit.parallelRun.perSecond.toFixed(0)} steps/s`, `synchronous atomic writes ${commit.parallel.baselinePerSecond.toFixed(0)}/s`, `throughput ×${commit.parallelRun.ratio.toFixed(2)}`, 'reported', ''],
    ['event loop while committing: 1 ms timer lateness', `p99 ${ms(commit.eventLoop.p99Ms)}`, `max ${ms(commit.eventLoop.maxMs)}; p99 of each chain ${commit.eventLoop.runsP99Ms.map((v) => v.toFixed(1)).join(', ')}`, '', 'p99 < 2 ms', verdict(commit.eventLoop.p99Ms < 2)],
    ['SQLite: 2,000 steps in a chain, SqliteStorage', `${lite.chainPerSecond.toFixed(0)} steps/s`, `node:sqlite, one INSERT per transaction ${lite.sqlitePerSecond.toFixed(0)}/s`, `throughput ×${(lite.chainPerSecond / lite.sqlitePerSecond).toFixed(2)}`, '≥ 0.7', verdict(lite.chainPerSecond / lite.sqlitePerSecond >= 0.7)],
    ['SQLite: the same chain against the disk', `${lite.chainPerSecond.toFixed(0)} steps/s`, `append + fdatasync ${lite.diskPerSecond.toFixed(0)}/s`, `throughput ×${(lite.chainPerSecond / lite.diskPerSecond).toFixed(2)}`, 'reported', `FileStorage's chain ${lite.filePerSecond.toFixed(0)} steps/s (×${(lite.chainPerSecond / lite.filePerSecond).toFixed(2)})`],
    ['SQLite: 100 independent steps at once (group commit)', `${lite.parallelPerSecond.toFixed(0)} commits/s`, `one INSERT per transaction ${lite.sqlitePerSecond.toFixed(0)}/s`, `throughput ×${(lite.parallelPerSecond / lite.sqlitePerSecond).toFixed(2)}`, '≥ 2', verdict(lite.parallelPerSecond / lite.sqlitePerSecond >= 2)],
    ['SQLite: 100 workflows × 10 steps at once', `${lite.concurrentPerSecond.toFixed(0)} steps/s`, `the chain ${lite.chainPerSecond.toFixed(0)} steps/s`, `throughput ×${(lite.concurrentPerSecond / lite.chainPerSecond).toFixed(2)}`, '≥ 3', verdict(lite.concurrentPerSecond / lite.chainPerSecond >= 3)],
    ['SQLite: event loop while a chain commits, 1 ms timer lateness', `p99 ${ms(lite.eventLoopP99Ms)}`, 'node:sqlite is synchronous', '', 'p99 < 2 ms', verdict(lite.eventLoopP99Ms < 2)],
    [`fingerprint: ${(fp.bytes / 1e6).toFixed(1)} MB input`, ms(fp.plain.measuredMs), `JSON.stringify + SHA-256 ${ms(fp.plain.baselineMs)}`, `time ×${fp.plain.ratio.toFixed(2)}`, '≤ 2.0', verdict(fp.plain.ratio <= 2)],
    ['fingerprint: same, 3 excluded paths', ms(fp.excluded.measuredMs), `JSON.stringify + SHA-256 ${ms(fp.excluded.baselineMs)}`, `time ×${fp.excluded.ratio.toFixed(2)}`, '≤ 2.0', verdict(fp.excluded.ratio <= 2)],
    ...resumeRows.map((r) => [
      `resume: ${r.steps.toLocaleString('en')} steps, ${r.steps - 1} committed, ${r.storage}`,
      ms(r.resumeMs),
      `fresh 1-step run ${ms(r.baselineMs)}`,
      `time ×${r.ratio.toFixed(2)}`,
      'linear or better',
      r.requests ? `requests ${Object.entries(r.requests).map(([k, v]) => `${k.replace('Command', '').replace('Object', '')}:${v}`).join(' ')}` : '',
    ]),
    [`resume in a fresh process: ${FRESH_STEPS.toLocaleString('en')} steps, ${FRESH_STEPS - 1} committed, FileStorage`, ms(fresh.medianMs), 'run() to result, median of 5', '', '< 100 ms', verdict(fresh.medianMs < 100)],
    ['fan-out: 1,000 × 10 ms, concurrency 100', ms(fan.measuredMs), `ideal ${ms(fan.idealMs)}`, `time ×${fan.ratio.toFixed(2)}`, '≤ 1.5', verdict(fan.ratio <= 1.5)],
    ...perItem.rows.map((r) => [
      `forEach: ${FAN_OUT_ITEMS.toLocaleString('en')} items, concurrency 50, ${r.storage}`,
      `${r.itemsPerSecond.toFixed(0)} items/s`,
      `sequential chain ${r.chainPerSecond.toFixed(0)} steps/s`,
      `throughput ×${(r.itemsPerSecond / r.chainPerSecond).toFixed(2)}`,
      '≥ 2',
      verdict(r.itemsPerSecond / r.chainPerSecond >= 2),
    ]),
    ...perItem.rows.map((r) => [
      `forEach: resume at half, ${r.storage}`,
      `${ms(r.resumeMs)}, ${r.resumeReads.toLocaleString('en')} reads`,
      `fresh run ${ms(r.freshMs)}, ${r.freshReads.toLocaleString('en')} reads`,
      `time ×${(r.resumeMs / r.freshMs).toFixed(2)}`,
      'reads ≤ half + a few',
      verdict(r.resumeReads <= r.items / 2 + 20),
    ]),
    ['forEach: heap kept per item, 100,000 items, MemoryStorage', `${perItem.memory.engineBytes.toFixed(0)} B`, `same outputs + checkpoints ${perItem.memory.bareBytes.toFixed(0)} B`, `×${(perItem.memory.engineBytes / perItem.memory.bareBytes).toFixed(2)}`, 'reported', ''],
    ...childRows.map((r) => [
      `children: ${CHILDREN.toLocaleString('en')} of one parent, worker concurrency 50, ${r.storage}`,
      `${r.childrenPerSecond.toFixed(0)} children/s`,
      `started directly ${r.directPerSecond.toFixed(0)} workflows/s`,
      `throughput ×${(r.childrenPerSecond / r.directPerSecond).toFixed(2)}`,
      'reported',
      `parent ran ${r.parentRuns}×`,
    ]),
    ...childRows.map((r) => [`children: last child ended → parent's step started, ${r.storage}`, ms(r.wakeMs), 'same process, worker polls every 1 s', '', '< 100 ms', verdict(r.wakeMs < 100)]),
    ['memory: peak RSS, 10,000 steps', mb(mem.engineRss10k), `empty script ${mb(mem.emptyRss)}`, `+${mb(mem.engineRss10k - mem.emptyRss)}`, 'reported', ''],
    ['wake latency: timer due → step started, poll 1 s', ms(wait.timerLatencyMs.poll1s), 'the timer', '', 'reported', ''],
    ['wake latency: timer due → step started, poll 100 ms', ms(wait.timerLatencyMs.poll100ms), 'the timer', '', 'reported', ''],
    ['wake latency: sendEvent → step started, same process', ms(wait.eventLatencyMs), '', '', '< 10 ms', verdict(wait.eventLatencyMs < 10)],
    ...wait.dueScan.map((r) => [
      `due scan: 10,000 waiting, 10 due, ${r.storage}`,
      ms(r.manyMs),
      `10 waiting in all ${ms(r.fewMs)}${r.lists ? `; LISTs ${r.lists.many} vs ${r.lists.few}` : ''}`,
      `time ×${r.ratio.toFixed(2)}`,
      r.lists ? '≤ 2 LISTs' : 'flat',
      r.lists ? verdict(r.lists.many <= 2) : '',
    ]),
    ...recovered.map((r) => [
      `recovery: SIGKILL mid-step → step committed again, ${r.storage}`,
      ms(r.medianMs),
      `lease TTL ${ms(RECOVERY_TTL_MS)}`,
      `time ×${(r.medianMs / RECOVERY_TTL_MS).toFixed(3)}`,
      '< 2 s',
      verdict(r.medianMs < 2_000),
    ]),
    ...flowRows.cost.flatMap((r) => [
      [`flow control: a step limit on each of ${FLOW_STEPS} steps, ${r.storage}`, `${r.limitMsPerStep.toFixed(2)} ms/step`, `the chain without ${r.plainMsPerStep.toFixed(2)} ms/step`, `time ×${(r.limitMsPerStep / r.plainMsPerStep).toFixed(2)}`, 'reported', 'a slot taken and given back per step'],
      [`flow control: a rate limit on each of ${FLOW_STEPS} steps, ${r.storage}`, `${r.rateMsPerStep.toFixed(2)} ms/step`, `the chain without ${r.plainMsPerStep.toFixed(2)} ms/step`, `time ×${(r.rateMsPerStep / r.plainMsPerStep).toFixed(2)}`, 'reported', 'a token per step, never short'],
    ]),
    ...flowRows.wake.map((r) => [`flow control: slot given up (another runner) → waiting run's step started, ${r.storage}`, ms(r.ms), 'worker polls every 1 s', '', 'reported', r.storage === 'PostgresStorage' ? 'NOTIFY' : 'found at the next scan']),
    ['worker memory: heap after a scan, 10,000 waiting', mb(wait.workerHeapBytes.waiting10k), `10 waiting ${mb(wait.workerHeapBytes.waiting10)}`, '', 'flat', ''],
    [`PostgreSQL: ${PG_STEPS.toLocaleString('en')} steps in a chain`, `${pg.commit.measuredPerSecond.toFixed(0)} steps/s`, `single-row INSERTs ${pg.commit.baselinePerSecond.toFixed(0)}/s`, `throughput ×${pg.commit.ratio.toFixed(2)}`, '≥ 0.8', verdict(pg.commit.ratio >= 0.8)],
    ...pg.resume.map((r) => [`PostgreSQL: resume, ${r.steps.toLocaleString('en')} steps, ${r.steps - 1} committed`, ms(r.ms), `${r.queries} queries`, '', 'reported', '']),
    ['PostgreSQL: sendEvent → step started, another pool (NOTIFY)', ms(pg.wakeMs), 'worker polls every 10 min', '', '< 50 ms', verdict(pg.wakeMs < 50)],
    ...queue.queuePerSecond.map((q) => [
      `BullMQ: ${QUEUE_WORKFLOWS.toLocaleString('en')} workflows × 5 steps, FileStorage, ${q.workers} worker process${q.workers === 1 ? '' : 'es'}`,
      `${q.perSecond.toFixed(0)} workflows/s`,
      `one process, no queue ${queue.inProcessPerSecond.toFixed(0)}/s`,
      `throughput ×${q.ratio.toFixed(2)}`,
      'reported',
      '',
    ]),
    ['BullMQ: timer due → step started (delayed job)', ms(queue.wakeMs), 'median of 10', '', 'reported', ''],
    ['memory: heap kept per step', `${mem.engineBytesPerStep.toFixed(0)} B`, `same outputs + checkpoints ${mem.bareBytesPerStep.toFixed(0)} B`, `×${(mem.engineBytesPerStep / mem.bareBytesPerStep).toFixed(2)}`, 'reported', ''],
  ];
  const header = ['case', 'measured', 'baseline (same run)', 'ratio', 'target', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log([line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
  console.log(`\n${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.platform}); ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const results = { date: new Date().toISOString(), machine, engine, durableCommit: commit, sqlite: lite, fingerprint: fp, fanOut: fan, perItem, children: childRows, resume: resumeRows, freshResume: fresh, memory: mem, waits: wait, recovery: recovered, flow: flowRows, postgres: pg, bullmq: queue };
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
