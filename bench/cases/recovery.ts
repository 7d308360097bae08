/**
 * Recovery of a killed run: a workflow's process is SIGKILLed inside a step while a worker runs in
 * another process (polling every 10 minutes, so only the store's word that the owner died can bring
 * it back early); measured from the kill to the step committed again by the worker, per store that
 * can tell, against the lease's TTL (30 s), which is what a store that cannot tell waits for.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshSchema, PG_URL } from '../../spec/helpers/postgres';
import { runTs } from '../../spec/helpers/child';

const FIXTURE = 'spec/fixtures/waiting-worker.ts';
/** The lease TTL of the killed run. */
export const RECOVERY_TTL_MS = 30_000;

export interface RecoveryRow {
  readonly storage: string;
  /** Median ms from the kill to the killed step committed again. */
  readonly medianMs: number;
}

async function round(store: string, dir: string, id: string): Promise<number> {
  const env = { STORE: store, EVENTS: join(dir, `${id}.log`), DELAY_MS: '0', LEASE_TTL_MS: String(RECOVERY_TTL_MS) };
  const worker = runTs(FIXTURE, { ...env, MODE: 'worker', UNTIL: id, POLL_MS: '600000' });
  const crashed = await runTs(FIXTURE, { ...env, MODE: 'run', WORKFLOW_ID: id, CRASH_AT: 'b' });
  const killedAt = Date.now();
  if (crashed.signal !== 'SIGKILL') throw new Error(`the run was not killed: ${crashed.stderr}`);
  const done = await worker;
  const info = JSON.parse(done.stdout)[id];
  return Date.parse(info.steps.b.committedAt) - killedAt;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Three rounds per store: FileStorage (one host) and PostgreSQL (the owner's session). */
export async function recovery(rounds = 3): Promise<RecoveryRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'waymark-bench-recovery-'));
  const pg = await freshSchema();
  try {
    const rows: RecoveryRow[] = [];
    for (const [storage, store] of [['FileStorage', join(dir, 'store')], ['PostgreSQL', `postgres:${PG_URL}|${pg.schema}`]] as const) {
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) times.push(await round(store, dir, `killed-${i}`));
      rows.push({ storage, medianMs: median(times) });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await pg.drop();
  }
}
