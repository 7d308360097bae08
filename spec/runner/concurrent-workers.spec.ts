/**
 * Eight processes start the same workflow id at the same moment (a queue delivering one job eight
 * times): each step's side effect must happen exactly once.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { freshSchema, PG_URL, type PgFixture } from '../helpers/postgres';
import { startS3, type S3Fixture } from '../helpers/s3-server';
import { startRgw, type RgwServer } from '../helpers/ceph-rgw';
import { tempDir } from '../helpers/temp-dir';
import { deferred, within } from '../helpers/deferred';
import { readEvents, startWorker, type Worker } from '../helpers/worker';

const WORKERS = 8;
const STEPS = 4;
const FAN_OUT_ITEMS = 200;

describe('concurrent workers on one workflow id', function () {
  this.timeout(5 * 60_000);
  let s3: S3Fixture;
  let rgw: RgwServer;
  let rgwBucket: string;
  let pg: PgFixture;
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    s3 = await startS3();
    rgw = await startRgw();
    rgwBucket = await rgw.bucket();
  });
  after(async () => s3?.close());
  beforeEach(async () => {
    dir = await tempDir();
    // A schema of its own per test, as each S3 test has its own prefix.
    pg = await freshSchema();
  });
  afterEach(async () => {
    await dir.remove();
    await pg.drop();
  });

  const stores = (): [string, () => string][] => [
    ['FileStorage', () => `file:${join(dir.path, 'store')}`],
    ['SqliteStorage', () => `sqlite:${join(dir.path, 'waymark.db')}`],
    ['S3Storage', () => `s3:${s3.endpoint}|${s3.bucket}|concurrent-${Date.now()}`],
    ['S3Storage on Ceph', () => `s3:${rgw.endpoint}|${rgwBucket}|concurrent-${Date.now()}|rgw`],
    ['PostgresStorage', () => `postgres:${PG_URL}|${pg.schema}`],
  ];

  for (const [name, store] of stores()) {
    for (const onBusy of ['throw', 'wait'] as const) {
      it(`${name}, onBusy '${onBusy}': every step runs exactly once; the others ${onBusy === 'throw' ? 'get WorkflowBusyError' : 'wait, then restore'}`, async () => {
        const events = join(dir.path, 'events.log');
        const env = { STORE: store(), EVENTS: events, WORKFLOW_ID: 'delivered-8-times', STEPS: String(STEPS), RESUME: '1', ON_BUSY: onBusy, BARRIER: '1', HOLD: '1' };
        const workers = Array.from({ length: WORKERS }, () => startWorker(env));
        // The interleaving is explicit: the lease holder stays in its first step until every other
        // worker has been refused the lease at least once; only then may it go on.
        const holders: Worker[] = [];
        const holding = deferred();
        const allRefused = deferred();
        let refused = 0;
        for (const w of workers) {
          w.child.on('message', (m) => {
            if (m === 'holding' && holders.push(w) === 1) holding.resolve();
            if (m === 'busy' && ++refused === WORKERS - 1) allRefused.resolve();
          });
        }
        // Wait until every process is up, then release them together.
        await Promise.all(workers.map((w) => w.waiting));
        for (const w of workers) w.child.send('go');
        await within(Promise.all([holding.promise, allRefused.promise]), 60_000, `${holders.length} holding, ${refused} refused`);
        holders[0].child.send('release');
        const exits = await Promise.all(workers.map((w) => w.exit));
        expect(holders, 'one process ever held the lease inside a step').to.have.length(1);
        const outcomes = exits.map((e) => JSON.parse(e.stdout || '{}'));

        const starts = readEvents(events).filter(([, kind]) => kind === 'start').map(([, , step]) => step);
        expect(starts.sort()).to.deep.equal(Array.from({ length: STEPS }, (_, i) => `step${i}`), 'each step ran exactly once across all processes');
        const succeeded = outcomes.filter((o) => o.output !== undefined);
        const busy = outcomes.filter((o) => o.error === 'WAYMARK_WORKFLOW_BUSY');
        if (onBusy === 'throw') {
          expect(succeeded).to.have.length(1);
          expect(busy, JSON.stringify(outcomes.filter((o) => o.error !== 'WAYMARK_WORKFLOW_BUSY'))).to.have.length(WORKERS - 1);
        } else {
          expect(succeeded, JSON.stringify(outcomes.filter((o) => o.output === undefined))).to.have.length(WORKERS);
          expect(new Set(succeeded.map((o) => o.output)).size).to.equal(1, 'all agree on the output');
          expect(succeeded.filter((o) => Object.values(o.steps).every((s) => s === 'restored'))).to.have.length(WORKERS - 1);
        }
      });
    }

    it(`${name}: a ${FAN_OUT_ITEMS}-item fan-out delivered ${WORKERS} times runs each item exactly once, and all agree on its output`, async () => {
      const events = join(dir.path, 'events.log');
      const env = { STORE: store(), EVENTS: events, WORKFLOW_ID: 'fan-out-8-times', FAN_OUT: String(FAN_OUT_ITEMS), RESUME: '1', ON_BUSY: 'wait', BARRIER: '1' };
      const workers = Array.from({ length: WORKERS }, () => startWorker(env));
      await Promise.all(workers.map((w) => w.waiting));
      for (const w of workers) w.child.send('go');
      const exits = await Promise.all(workers.map((w) => w.exit));
      const outcomes = exits.map((e) => JSON.parse(e.stdout || '{}'));
      const items = readEvents(events).filter(([, kind, rest]) => kind === 'start' && rest.startsWith('item ')).map(([, , rest]) => Number(rest.slice(5)));
      expect(items.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: FAN_OUT_ITEMS }, (_, i) => i), 'each item ran exactly once across all processes');
      expect(readEvents(events).filter(([, kind]) => kind === 'listed')).to.have.length(1, 'the list was computed once');
      expect(outcomes, JSON.stringify(outcomes)).to.deep.equal(Array.from({ length: WORKERS }, () => ({ output: (7 * FAN_OUT_ITEMS * (FAN_OUT_ITEMS - 1)) / 2 })));
    });
  }
});
