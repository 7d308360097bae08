/**
 * A worker running a 1,000-item fan-out is SIGKILLed in the middle of it, again and again, on every
 * durable store; after each kill the store is read and the run resumed by a new process. No
 * committed item may run again, no committed item may be lost, and the list is never computed again
 * once committed; the last run's output is the sum of every item's.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listKey, keyMeaning } from '../../../lib/item-keys';
import { startWorker } from '../../helpers/worker';
import type { CheckpointStorage } from '../../../lib/storage/checkpoint-storage';
import { processStores } from '../../helpers/process-stores';
import { tempDir } from '../../helpers/temp-dir';
import { seeded } from '../../helpers/race-harness';

const ITEMS = 1_000;
/** Kills per store; `npm run stress` sets more. */
const KILLS = Number(process.env.FAN_OUT_KILLS ?? 10);
/** Kills that must land before the fan-out ends: every one in `npm test`; with more (stress), a fast store may finish first. */
const KILLS_AT_LEAST = Math.min(KILLS, 10);
const SEED = 7;

const { providers, close } = processStores('fan-out-crash');

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Resolves once `done()` holds, looking every few ms, or as soon as `stop` settles. */
async function until(done: () => boolean, stop: Promise<unknown>): Promise<boolean> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  while (!stopped) {
    if (done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return done();
}

/** The committed items of step `items`, by index, and whether its list is committed. */
async function committedItems(storage: CheckpointStorage): Promise<{ items: Set<number>; list: boolean }> {
  const names = (await storage.load('fan'))?.committedSteps ?? [];
  const items = new Set<number>();
  for (const name of names) {
    const meaning = keyMeaning(name);
    if (meaning.kind === 'item' && meaning.step === 'items') items.add(meaning.index);
  }
  return { items, list: names.includes(listKey('items')) };
}

describe('fan-out crash rounds', function () {
  this.timeout(10 * 60_000);
  after(close);

  for (const [name, open] of providers) {
    it(`${name}: ${KILLS_AT_LEAST === KILLS ? KILLS : `${KILLS_AT_LEAST} to ${KILLS}`} SIGKILLs in the middle of a ${ITEMS.toLocaleString('en')}-item fan-out: no committed item runs again or is lost, the list is never computed again`, async () => {
      const seed = Number(process.env.FAN_OUT_SEED ?? Date.now() % 100_000);
      const next = seeded(seed);
      const { store, storage, teardown } = await open();
      const dir = await tempDir('waymark-fan-out-events-');
      try {
        let before = { items: new Set<number>(), list: false };
        const kills: number[] = [];
        for (let round = 0; ; round++) {
          const events = join(dir.path, `round-${round}.log`);
          const worker = startWorker({ STORE: store, EVENTS: events, WORKFLOW_ID: 'fan', FAN_OUT: String(ITEMS), SEED: String(SEED), STEP_MS: '2', CONCURRENCY: '20', LEASE_TTL_MS: '1000', ON_BUSY: 'wait', RESUME: round === 0 ? '0' : '1' });
          // Each round but the last is killed after a random number of items returned (their commits may be under way).
          // Spread over the items: more kills, fewer items between two.
          const killAfter = round < KILLS ? 1 + Math.floor(next() * Math.min(60, ITEMS / KILLS)) : Infinity;
          const ended = () => lines(events).filter((l) => l.includes(' end item ')).length >= killAfter;
          const killed = await until(ended, worker.exit);
          if (killed) worker.child.kill('SIGKILL');
          const exit = await worker.exit;
          const ran = lines(events);
          const context = `seed ${seed}, round ${round}`;
          for (const line of ran) {
            const started = / start item (\d+)$/.exec(line);
            if (started !== null) expect(before.items.has(Number(started[1])), `${context}: committed item ${started[1]} ran again`).to.equal(false);
          }
          if (before.list) expect(ran.some((l) => l.endsWith(' listed')), `${context}: the committed list was computed again`).to.equal(false);
          const now = await committedItems(storage);
          for (const index of before.items) expect(now.items.has(index), `${context}: committed item ${index} was lost`).to.equal(true);
          before = now;
          if (killed && exit.signal === 'SIGKILL') {
            kills.push(now.items.size);
            continue;
          }
          expect(exit.code, `${context}: ${exit.stdout} ${exit.stderr}`).to.equal(0);
          expect(JSON.parse(exit.stdout)).to.deep.equal({ output: (SEED * ITEMS * (ITEMS - 1)) / 2 });
          break;
        }
        expect(kills.length, `items committed at each kill: ${kills.join(', ')}`).to.be.at.least(KILLS_AT_LEAST);
        if (KILLS > KILLS_AT_LEAST) console.log(`      ${name}: ${kills.length} kills landed before the fan-out ended`);
        // The kills landed in the middle of the fan-out: some items were committed, not all.
        expect(kills.some((committed) => committed > 0 && committed < ITEMS), `items committed at each kill: ${kills.join(', ')}`).to.equal(true);
        const final = await committedItems(storage);
        expect(final.items.size).to.equal(ITEMS);
        expect((await storage.readCheckpoint('fan', 'items')).items).to.deep.equal({ count: ITEMS });
      } finally {
        await dir.remove();
        await teardown();
      }
    });
  }
});
