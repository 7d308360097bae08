/**
 * The behaviour every {@link CheckpointStorage} must have, as a mocha suite any provider's spec can
 * run: `describeStorageContract('MyStorage', async () => ({ storage: new MyStorage(...) }))`.
 *
 * Uses mocha's global `describe`/`it` and Node's `assert`, so it needs no assertion library.
 */
import assert from 'node:assert/strict';
import { InvalidWorkflowIdError, LeaseLostError, RecordConflictError, StorageError } from '../errors';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Checkpoint, Lease, StoredEvent, WorkflowRecord } from '../storage/records';

/** A storage under test and how to dispose of it. */
export interface StorageFixture {
  readonly storage: CheckpointStorage;
  readonly cleanup?: () => Promise<void>;
}

/** Options of the contract suite. */
export interface StorageContractOptions {
  /** Longest id the provider accepts, if shorter than the runner's 200 characters. */
  readonly maxIdLength?: number;
}

/** A record for contract tests. */
export function sampleRecord(workflowId: string, fingerprint = 'f'.repeat(64)): WorkflowRecord {
  return { formatVersion: 1, workflowId, workflowName: 'Sample', fingerprint, steps: [{ name: 'a', after: [] }], updatedAt: new Date(0).toISOString() };
}

/** An event for contract tests. */
export function sampleEvent(eventId: string, sentAt: number, payload: StoredEvent['payload'] = { id: eventId }, name = 'payment'): StoredEvent {
  return { formatVersion: 1, eventId, name, payload, sentAt: new Date(sentAt).toISOString() };
}

/** A checkpoint for contract tests. */
export function sampleCheckpoint(step: string, output: Checkpoint['output'] = { value: step }): Checkpoint {
  return { formatVersion: 1, step, status: 'completed', attempts: 1, committedAt: new Date(0).toISOString(), output };
}

async function expectRejects(promise: Promise<unknown>, type: abstract new (...args: never[]) => Error): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but it resolved`);
}

/** Registers the contract suite for one provider. `create` is called before each test. */
export function describeStorageContract(name: string, create: () => Promise<StorageFixture>, options: StorageContractOptions = {}): void {
  describe(`CheckpointStorage contract: ${name}`, function () {
    let fixture: StorageFixture;
    let storage: CheckpointStorage;
    beforeEach(async () => {
      fixture = await create();
      storage = fixture.storage;
    });
    afterEach(async () => fixture.cleanup?.());

    describe('records and checkpoints', () => {
      it('loads nothing for an unknown workflow id', async () => {
        assert.equal(await storage.load('never-written'), undefined);
      });

      it('creates a record only once, then replaces it only from the current version', async () => {
        const v1 = await storage.writeRecord('job', sampleRecord('job', 'a'.repeat(64)), null);
        await expectRejects(storage.writeRecord('job', sampleRecord('job'), null), RecordConflictError);
        const v2 = await storage.writeRecord('job', sampleRecord('job', 'b'.repeat(64)), v1);
        assert.notEqual(v2, v1);
        await expectRejects(storage.writeRecord('job', sampleRecord('job', 'c'.repeat(64)), v1), RecordConflictError);
        const loaded = await storage.load('job');
        assert.equal(loaded?.record?.fingerprint, 'b'.repeat(64));
        assert.equal(loaded?.recordVersion, v2);
      });

      it('reads the record alone, with the version that replaces it, and its completion whole', async () => {
        assert.equal(await storage.readRecord('job'), undefined);
        await storage.commit('job', sampleCheckpoint('a'));
        assert.equal(await storage.readRecord('job'), undefined, 'checkpoints without a record are no record');
        const v1 = await storage.writeRecord('job', sampleRecord('job'), null);
        assert.deepEqual(await storage.readRecord('job'), { record: sampleRecord('job'), version: v1 });
        const completed = { ...sampleRecord('job'), completion: { runId: 'run-1', completedAt: new Date(0).toISOString(), output: { $wm: 'undefined' } } };
        const v2 = await storage.writeRecord('job', completed, v1);
        assert.deepEqual(await storage.readRecord('job'), { record: completed, version: v2 });
        assert.equal(await storage.readRecord('job-other'), undefined);
      });

      it('keeps the input, status and last error a record carries, and load returns them with the committed steps', async () => {
        const failed: WorkflowRecord = {
          ...sampleRecord('job'),
          createdAt: new Date(0).toISOString(),
          input: { order: 'o-1', at: { $wm: 'date', v: '2026-12-01T00:00:00.000Z' }, lines: [1, 2.5, null, 'x'] },
          status: 'failed',
          error: { code: 'ECONNRESET', message: 'socket hang up', step: 'a', attempts: 3 },
        };
        const v1 = await storage.writeRecord('job', failed, null);
        assert.deepEqual(await storage.readRecord('job'), { record: failed, version: v1 });
        await storage.commit('job', sampleCheckpoint('a'));
        const running: WorkflowRecord = { ...failed, status: 'running', error: undefined };
        const v2 = await storage.writeRecord('job', running, v1);
        const loaded = await storage.load('job');
        assert.deepEqual({ ...loaded, record: JSON.parse(JSON.stringify(loaded?.record)) }, { record: JSON.parse(JSON.stringify(running)), recordVersion: v2, committedSteps: ['a'] });
      });

      it('lets exactly one of 10 concurrent first writers create the record', async () => {
        const writes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => storage.writeRecord('job', sampleRecord('job', String(i).repeat(64)), null)));
        const won = writes.filter((w) => w.status === 'fulfilled');
        assert.equal(won.length, 1);
        for (const w of writes) if (w.status === 'rejected') assert.ok(w.reason instanceof RecordConflictError, String(w.reason));
        const winner = writes.indexOf(won[0]);
        assert.equal((await storage.load('job'))?.record?.fingerprint, String(winner).repeat(64));
      });

      it('lets exactly one of 10 concurrent replaces from the same version win (compare-and-swap)', async () => {
        const v1 = await storage.writeRecord('job', sampleRecord('job'), null);
        const writes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => storage.writeRecord('job', sampleRecord('job', String(i).repeat(64)), v1)));
        const won = writes.filter((w): w is PromiseFulfilledResult<string> => w.status === 'fulfilled');
        assert.equal(won.length, 1, 'exactly one replace wins');
        for (const w of writes) if (w.status === 'rejected') assert.ok(w.reason instanceof RecordConflictError, String(w.reason));
        const loaded = await storage.load('job');
        assert.equal(loaded?.record?.fingerprint, String(writes.indexOf(won[0])).repeat(64));
        assert.equal(loaded?.recordVersion, won[0].value);
      });

      it('refuses a replace from a version superseded long ago', async () => {
        const v1 = await storage.writeRecord('job', sampleRecord('job', 'a'.repeat(64)), null);
        let version = v1;
        for (const c of 'bcd') version = await storage.writeRecord('job', sampleRecord('job', c.repeat(64)), version);
        await expectRejects(storage.writeRecord('job', sampleRecord('job', 'e'.repeat(64)), v1), RecordConflictError);
        assert.deepEqual(await storage.readRecord('job'), { record: sampleRecord('job', 'd'.repeat(64)), version });
      });

      it('lists committed steps without outputs and reads each checkpoint whole', async () => {
        await storage.writeRecord('job', sampleRecord('job'), null);
        await storage.commit('job', sampleCheckpoint('extract', { rows: [1, 2, 3] }));
        await storage.commit('job', sampleCheckpoint('transform', { $wm: 'undefined' }));
        const loaded = await storage.load('job');
        assert.deepEqual([...(loaded?.committedSteps ?? [])].sort(), ['extract', 'transform']);
        assert.deepEqual(await storage.readCheckpoint('job', 'extract'), sampleCheckpoint('extract', { rows: [1, 2, 3] }));
        assert.deepEqual((await storage.readCheckpoint('job', 'transform')).output, { $wm: 'undefined' });
      });

      it('keeps a skipped step (a branch that said no) as skipped: committed, its checkpoint whole, by readCheckpoints too', async () => {
        await storage.writeRecord('job', { ...sampleRecord('job'), branches: { pay: true } }, null);
        const skipped: Checkpoint = { ...sampleCheckpoint('refund', { $wm: 'undefined' }), status: 'skipped' };
        await storage.commit('job', skipped);
        assert.deepEqual((await storage.load('job'))?.committedSteps, ['refund']);
        assert.deepEqual(await storage.readCheckpoint('job', 'refund'), skipped);
        if (storage.readCheckpoints !== undefined) assert.deepEqual(await storage.readCheckpoints('job', ['refund']), [skipped]);
        assert.deepEqual((await storage.readRecord('job'))?.record.branches, { pay: true });
      });

      it('keeps steps whose names need encoding apart', async () => {
        const names = ['a', 'A', 'a.b', 'a/b', '../up', 'ü', '%41'];
        for (const step of names) await storage.commit('job', sampleCheckpoint(step, step));
        const loaded = await storage.load('job');
        assert.deepEqual([...(loaded?.committedSteps ?? [])].sort(), [...names].sort());
        for (const step of names) assert.equal((await storage.readCheckpoint('job', step)).output, step);
      });

      it('keeps a fan-out\'s list and items (names holding a control character) apart from its step, with their item counts and failures, and clears them with the workflow', async () => {
        // The runner names them `<step>\u001f<index>` and `<step>\u001flist` (lib/item-keys.ts): no step name holds a control character.
        await storage.writeRecord('job', { ...sampleRecord('job'), fanOuts: { charge: 3 } }, null);
        const names = ['charge\u001flist', 'charge\u001f0', 'charge\u001f1', 'charge\u001f10', 'charge'];
        for (const step of names.slice(0, 4)) await storage.commit('job', sampleCheckpoint(step, step));
        const failed = [{ index: 2, code: 'CARD_DECLINED', message: 'declined', attempts: 3 }];
        const step: Checkpoint = { ...sampleCheckpoint('charge', [1, 2, { $wm: 'undefined' }]), items: { count: 3, failed } };
        await storage.commit('job', step);
        assert.deepEqual([...((await storage.load('job'))?.committedSteps ?? [])].sort(), [...names].sort());
        assert.equal((await storage.readCheckpoint('job', 'charge\u001f10')).output, 'charge\u001f10');
        assert.deepEqual(await storage.readCheckpoint('job', 'charge'), step);
        if (storage.readCheckpoints !== undefined) assert.deepEqual((await storage.readCheckpoints('job', ['charge\u001f1', 'charge\u001f0'])).map((c) => c.output), ['charge\u001f1', 'charge\u001f0']);
        assert.deepEqual((await storage.readRecord('job'))?.record.fanOuts, { charge: 3 });
        await storage.clear('job');
        assert.equal(await storage.load('job'), undefined);
      });

      it('overwrites a checkpoint committed again', async () => {
        await storage.commit('job', sampleCheckpoint('s', 1));
        await storage.commit('job', sampleCheckpoint('s', 2));
        assert.equal((await storage.readCheckpoint('job', 's')).output, 2);
      });

      it('reports a missing checkpoint as a StorageError, not as a value', async () => {
        await storage.commit('job', sampleCheckpoint('s'));
        await expectRejects(storage.readCheckpoint('job', 'missing'), StorageError);
      });
    });

    describe('namespaces', () => {
      const siblings: [string, string][] = [
        ['job-1', 'job-10'],
        ['a', 'a-b'],
        ['a', 'a/b'],
        ['a', 'a.b'],
        ['a', 'A'],
        ['x', '%78'],
      ];
      for (const [id, sibling] of siblings) {
        it(`clear('${id}') leaves '${sibling}' whole (and the other way round)`, async () => {
          for (const w of [id, sibling]) {
            await storage.writeRecord(w, sampleRecord(w), null);
            await storage.commit(w, sampleCheckpoint('s', w));
          }
          await storage.clear(id);
          assert.equal(await storage.load(id), undefined);
          assert.equal((await storage.readCheckpoint(sibling, 's')).output, sibling);
          assert.deepEqual(await storage.list(), [sibling]);
          await storage.writeRecord(id, sampleRecord(id), null);
          await storage.clear(sibling);
          assert.deepEqual(await storage.list(), [id]);
        });
      }

      it('stores ids that look like paths as plain names', async () => {
        const ids = ['../escape', '/etc/passwd', 'a/../../b', '..', '.', 'C:\\x', 'ü-ñ-字'];
        for (const id of ids) await storage.commit(id, sampleCheckpoint('s', id));
        assert.deepEqual(await storage.list(), [...ids].sort());
        for (const id of ids) assert.equal((await storage.readCheckpoint(id, 's')).output, id);
      });

      it('rejects empty, control-character and over-long ids with InvalidWorkflowIdError', async () => {
        for (const id of ['', 'a\u0000b', 'line\nbreak', 'x'.repeat(1000)]) {
          await expectRejects(storage.commit(id, sampleCheckpoint('s')), InvalidWorkflowIdError);
          await expectRejects(storage.load(id), InvalidWorkflowIdError);
        }
        if (options.maxIdLength !== undefined) await expectRejects(storage.load('x'.repeat(options.maxIdLength + 1)), InvalidWorkflowIdError);
        assert.deepEqual(await storage.list(), []);
      });

      it('reports clear progress up to the total of deleted objects', async () => {
        await storage.writeRecord('job', sampleRecord('job'), null);
        for (let i = 0; i < 5; i++) await storage.commit('job', sampleCheckpoint(`s${i}`));
        const progress: [number, number][] = [];
        await storage.clear('job', { onProgress: (deleted, total) => progress.push([deleted, total]) });
        assert.ok(progress.length > 0);
        const [deleted, total] = progress[progress.length - 1];
        assert.equal(deleted, total);
        assert.ok(total >= 5, `total ${total} counts at least the checkpoints`);
        assert.equal(await storage.load('job'), undefined);
      });

      it('clears an id that has nothing stored without error', async () => {
        await storage.clear('nothing-here');
        assert.equal(await storage.load('nothing-here'), undefined);
      });
    });

    describe('leases', () => {
      it('gives a lease to one owner at a time and names the holder to the others', async () => {
        const first = await storage.acquireLease('job', 'owner-1', 60_000);
        assert.ok(first.acquired);
        const second = await storage.acquireLease('job', 'owner-2', 60_000);
        assert.ok(!second.acquired);
        assert.equal(second.holder, 'owner-1');
        assert.ok(second.expiresAt > Date.now());
        const other = await storage.acquireLease('job-2', 'owner-2', 60_000);
        assert.ok(other.acquired, 'another workflow id is not blocked');
      });

      it('says who holds the lease without taking it: nobody, the holder until its expiry, nobody once released or expired', async () => {
        assert.equal(await storage.readLease('job'), undefined);
        const held = await storage.acquireLease('job', 'owner-1', 60_000);
        assert.ok(held.acquired);
        assert.deepEqual(await storage.readLease('job'), { owner: 'owner-1', expiresAt: held.lease.expiresAt });
        assert.equal(await storage.readLease('job-2'), undefined, 'another id holds nothing');
        assert.equal((await storage.acquireLease('job', 'owner-2', 60_000)).acquired, false, 'reading took nothing');
        await storage.releaseLease(held.lease);
        assert.equal(await storage.readLease('job'), undefined);
        const brief = await storage.acquireLease('job', 'owner-3', 20);
        assert.ok(brief.acquired);
        while (Date.now() <= brief.lease.expiresAt) await new Promise((r) => setImmediate(r));
        assert.equal(await storage.readLease('job'), undefined, 'an expired lease holds nothing');
      });

      it('hands the lease on after release, and release leaves no data behind', async () => {
        const first = await storage.acquireLease('job', 'owner-1', 60_000);
        assert.ok(first.acquired);
        await storage.releaseLease(first.lease);
        assert.equal(await storage.load('job'), undefined);
        assert.deepEqual(await storage.list(), []);
        const second = await storage.acquireLease('job', 'owner-2', 60_000);
        assert.ok(second.acquired);
      });

      it('names no live owner\'s lease dead (deadLeases, where the store has it), nor one released or expired', async () => {
        if (storage.deadLeases === undefined) return;
        const held = await storage.acquireLease('job', 'owner-1', 60_000);
        const brief = await storage.acquireLease('brief', 'owner-2', 1);
        assert.ok(held.acquired && brief.acquired);
        while (Date.now() <= brief.lease.expiresAt) await new Promise((r) => setImmediate(r));
        assert.deepEqual(await storage.deadLeases(10), [], 'a lease this live process holds is alive; an expired one is for its recovery entry');
        await storage.releaseLease(held.lease);
        assert.deepEqual(await storage.deadLeases(10), []);
      });

      it('lets exactly one of 20 concurrent acquirers win', async () => {
        const attempts = await Promise.all(Array.from({ length: 20 }, (_, i) => storage.acquireLease('job', `owner-${i}`, 60_000)));
        assert.equal(attempts.filter((a) => a.acquired).length, 1);
      });

      it('commits several checkpoints at once (commitMany, or one by one where the store has none, as the runner does): all of them, fenced by the lease, the last of a step named twice', async () => {
        const commitMany = storage.commitMany?.bind(storage) ?? (async (id: string, checkpoints: readonly Checkpoint[], lease?: Lease) => {
          for (const checkpoint of checkpoints) await storage.commit(id, checkpoint, lease);
        });
        const held = await storage.acquireLease('job', 'owner-1', 60_000);
        assert.ok(held.acquired);
        await commitMany('job', [sampleCheckpoint('a\u001f0', 0), sampleCheckpoint('a\u001f1', 1), sampleCheckpoint('a\u001f0', 2)], held.lease);
        assert.deepEqual([...((await storage.load('job'))?.committedSteps ?? [])].sort(), ['a\u001f0', 'a\u001f1']);
        assert.equal((await storage.readCheckpoint('job', 'a\u001f0')).output, 2);
        await commitMany('job', []);
        await storage.releaseLease(held.lease);
        const old = await storage.acquireLease('other', 'owner-1', 1);
        assert.ok(old.acquired);
        while (Date.now() <= old.lease.expiresAt) await new Promise((r) => setImmediate(r));
        assert.ok((await storage.acquireLease('other', 'owner-2', 60_000)).acquired);
        await expectRejects(commitMany('other', [sampleCheckpoint('x'), sampleCheckpoint('y')], old.lease), LeaseLostError);
        assert.equal(await storage.load('other'), undefined, 'the fenced commit wrote nothing');
      });

      it('takes over an expired lease, and the old holder can no longer commit or renew', async () => {
        const old = await storage.acquireLease('job', 'owner-1', 1);
        assert.ok(old.acquired);
        while (Date.now() <= old.lease.expiresAt) await new Promise((r) => setImmediate(r));
        const taker = await storage.acquireLease('job', 'owner-2', 60_000);
        assert.ok(taker.acquired, 'an expired lease is taken over');
        await expectRejects(storage.commit('job', sampleCheckpoint('s'), old.lease), LeaseLostError);
        assert.equal(await storage.renewLease(old.lease, 60_000), undefined);
        assert.equal(await storage.load('job'), undefined, 'the fenced commit wrote nothing');
        await storage.releaseLease(old.lease);
        const third = await storage.acquireLease('job', 'owner-3', 60_000);
        assert.ok(!third.acquired, "the old holder's release does not free the new holder's lease");
        await storage.commit('job', sampleCheckpoint('s'), taker.lease);
        assert.deepEqual((await storage.load('job'))?.committedSteps, ['s']);
      });

      it('lets exactly one of 10 concurrent takers of an expired lease win', async () => {
        const old = await storage.acquireLease('job', 'owner-old', 1);
        assert.ok(old.acquired);
        while (Date.now() <= old.lease.expiresAt) await new Promise((r) => setImmediate(r));
        const attempts = await Promise.all(Array.from({ length: 10 }, (_, i) => storage.acquireLease('job', `taker-${i}`, 60_000)));
        const winners = attempts.filter((a) => a.acquired);
        assert.equal(winners.length, 1, `${winners.length} takers hold the lease at once`);
        for (const loser of attempts.filter((a) => !a.acquired)) assert.equal(loser.holder, winners[0].lease.owner, 'the losers are told who won');
      });

      it('fences by whether the lease is held, however short: a live 1.5 s lease writes and renews, an expired one (even untaken) writes nothing', async () => {
        const short = await storage.acquireLease('job', 'owner-1', 1_500);
        assert.ok(short.acquired);
        await storage.commit('job', sampleCheckpoint('a'), short.lease);
        const version = await storage.writeRecord('job', sampleRecord('job'), null, short.lease);
        const renewed = await storage.renewLease(short.lease, 1_500);
        assert.ok(renewed, 'a live short lease renews');
        await storage.commit('job', sampleCheckpoint('b'), renewed);
        await storage.writeRecord('job', sampleRecord('job', 'e'.repeat(64)), version, renewed);
        assert.deepEqual([...((await storage.load('job'))?.committedSteps ?? [])].sort(), ['a', 'b']);

        const lapsed = await storage.acquireLease('job-2', 'owner-1', 1);
        assert.ok(lapsed.acquired);
        while (Date.now() <= lapsed.lease.expiresAt) await new Promise((r) => setImmediate(r));
        await expectRejects(storage.commit('job-2', sampleCheckpoint('a'), lapsed.lease), LeaseLostError);
        await expectRejects(storage.writeRecord('job-2', sampleRecord('job-2'), null, lapsed.lease), LeaseLostError);
        assert.equal(await storage.load('job-2'), undefined, 'an expired lease wrote nothing');
      });

      it('lets a commit that overlaps its own lease renewal through the fence', async () => {
        const held = await storage.acquireLease('job', 'owner-1', 60_000);
        assert.ok(held.acquired);
        const [renewed] = await Promise.all([storage.renewLease(held.lease, 60_000), storage.commit('job', sampleCheckpoint('during'), held.lease)]);
        assert.ok(renewed);
        await storage.commit('job', sampleCheckpoint('after'), held.lease);
        assert.deepEqual([...((await storage.load('job'))?.committedSteps ?? [])].sort(), ['after', 'during']);
      });

      it('renews a held lease', async () => {
        const held = await storage.acquireLease('job', 'owner-1', 60_000);
        assert.ok(held.acquired);
        const renewed = await storage.renewLease(held.lease, 120_000);
        assert.ok(renewed);
        assert.ok(renewed.expiresAt > held.lease.expiresAt);
        await storage.commit('job', sampleCheckpoint('s'), renewed);
        await storage.writeRecord('job', sampleRecord('job'), null, renewed);
        await storage.clear('job', { lease: renewed });
        assert.equal(await storage.load('job'), undefined);
      });
    });

    describe('wake index', () => {
      const HOUR = 3_600_000;
      const now = Date.UTC(2026, 11, 1, 10, 30);

      it('returns the due entries, earliest first (entries of one time in any order), across hours, at most limit; later ones wait', async () => {
        const entries = [
          { workflowId: 'in-2h', wakeAt: now + 2 * HOUR },
          { workflowId: 'now', wakeAt: now },
          { workflowId: 'days-ago', wakeAt: now - 50 * HOUR },
          { workflowId: 'next-ms', wakeAt: now + 1 },
          { workflowId: 'an-hour-ago', wakeAt: now - HOUR },
          { workflowId: 'same-hour', wakeAt: now - 60_000 },
        ];
        await Promise.all(entries.map((e) => storage.addWake(e)));
        assert.deepEqual(
          (await storage.dueWakes(now, 100)).map((e) => e.workflowId),
          ['days-ago', 'an-hour-ago', 'same-hour', 'now'],
        );
        assert.deepEqual(await storage.dueWakes(now, 2), [entries[2], entries[4]]);
        assert.deepEqual((await storage.dueWakes(now + 2 * HOUR, 100)).length, 6);
        assert.deepEqual(await storage.dueWakes(now - 51 * HOUR, 100), []);
      });

      it('keeps one entry per workflow and time: adding it again changes nothing, removing takes it away, removing a missing one is fine', async () => {
        const entry = { workflowId: 'job', wakeAt: now };
        await storage.addWake(entry);
        await storage.addWake(entry);
        await storage.addWake({ workflowId: 'job', wakeAt: now - 1 });
        await storage.addWake({ workflowId: 'job-2', wakeAt: now - 2 });
        assert.deepEqual(await storage.dueWakes(now, 10), [{ workflowId: 'job-2', wakeAt: now - 2 }, { workflowId: 'job', wakeAt: now - 1 }, entry]);
        await storage.removeWake(entry);
        await storage.removeWake(entry);
        await storage.removeWake({ workflowId: 'never', wakeAt: now });
        assert.deepEqual(await storage.dueWakes(now, 10), [{ workflowId: 'job-2', wakeAt: now - 2 }, { workflowId: 'job', wakeAt: now - 1 }]);
      });

      it('keeps ids that need encoding, and ids sharing a prefix, apart', async () => {
        const ids = ['job', 'job-1', 'Job', 'a/b', 'ü~x', '../up'];
        await Promise.all(ids.map((workflowId) => storage.addWake({ workflowId, wakeAt: now })));
        assert.deepEqual(new Set((await storage.dueWakes(now, 10)).map((e) => e.workflowId)), new Set(ids));
        await storage.removeWake({ workflowId: 'job', wakeAt: now });
        assert.deepEqual(new Set((await storage.dueWakes(now, 10)).map((e) => e.workflowId)), new Set(ids.slice(1)));
      });

      it('survives 20 concurrent adds and removes in one hour', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => storage.addWake({ workflowId: `w${i}`, wakeAt: now + i })));
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? storage.removeWake({ workflowId: `w${i}`, wakeAt: now + i }) : storage.addWake({ workflowId: `x${i}`, wakeAt: now }))));
        const due = await storage.dueWakes(now + 100, 100);
        assert.equal(due.length, 20);
        assert.deepEqual(due.filter((e) => e.workflowId.startsWith('w')).map((e) => e.workflowId), Array.from({ length: 10 }, (_, i) => `w${2 * i + 1}`));
      });

      it("clear removes the entry the workflow's record names", async () => {
        await storage.writeRecord('job', { ...sampleRecord('job'), status: 'waiting', wakeAt: new Date(now).toISOString() }, null);
        await storage.addWake({ workflowId: 'job', wakeAt: now });
        await storage.addWake({ workflowId: 'job-2', wakeAt: now });
        await storage.clear('job');
        assert.deepEqual(await storage.dueWakes(now, 10), [{ workflowId: 'job-2', wakeAt: now }]);
      });
    });

    describe('index of ended workflows', () => {
      const HOUR = 3_600_000;
      const now = Date.UTC(2026, 11, 1, 10, 30);

      it('returns the entries of one status that ended at or before a time, earliest first, at most limit; other statuses apart', async () => {
        const entries = [
          { workflowId: 'in-2h', status: 'completed', endedAt: now + 2 * HOUR },
          { workflowId: 'now', status: 'completed', endedAt: now },
          { workflowId: 'days-ago', status: 'completed', endedAt: now - 50 * HOUR },
          { workflowId: 'an-hour-ago', status: 'completed', endedAt: now - HOUR },
          { workflowId: 'failed-long-ago', status: 'failed', endedAt: now - 900 * HOUR },
          { workflowId: 'compensated', status: 'compensated', endedAt: now - HOUR },
        ] as const;
        await Promise.all(entries.map((e) => storage.addEnded(e)));
        assert.deepEqual((await storage.endedBefore('completed', now, 100)).map((e) => e.workflowId), ['days-ago', 'an-hour-ago', 'now']);
        assert.deepEqual(await storage.endedBefore('completed', now, 2), [entries[2], entries[3]]);
        assert.deepEqual(await storage.endedBefore('failed', now, 100), [entries[4]]);
        assert.deepEqual(await storage.endedBefore('compensated', now, 100), [entries[5]]);
        assert.deepEqual(await storage.endedBefore('cancelled', now, 100), []);
        assert.deepEqual(await storage.endedBefore('completed', now - 51 * HOUR, 100), []);
      });

      it('keeps one entry per workflow, status and time; removing takes it away, a missing one is fine; ids that need encoding stay apart', async () => {
        const ids = ['job', 'job-1', 'Job', 'a/b', 'ü~x', '../up'];
        await Promise.all(ids.map((workflowId) => storage.addEnded({ workflowId, status: 'completed', endedAt: now })));
        await storage.addEnded({ workflowId: 'job', status: 'completed', endedAt: now });
        await storage.addEnded({ workflowId: 'job', status: 'failed', endedAt: now - 1 });
        assert.deepEqual(new Set((await storage.endedBefore('completed', now, 10)).map((e) => e.workflowId)), new Set(ids));
        assert.equal((await storage.endedBefore('completed', now, 10)).length, ids.length);
        await storage.removeEnded({ workflowId: 'job', status: 'completed', endedAt: now });
        await storage.removeEnded({ workflowId: 'job', status: 'completed', endedAt: now });
        await storage.removeEnded({ workflowId: 'never', status: 'completed', endedAt: now });
        assert.deepEqual(new Set((await storage.endedBefore('completed', now, 10)).map((e) => e.workflowId)), new Set(ids.slice(1)));
        assert.deepEqual(await storage.endedBefore('failed', now, 10), [{ workflowId: 'job', status: 'failed', endedAt: now - 1 }]);
      });
    });

    describe('events', () => {
      it('stores each event id once, the first one winning, and lists events in send order', async () => {
        assert.equal(await storage.putEvent('job', sampleEvent('evt-b', 2000)), true);
        assert.equal(await storage.putEvent('job', sampleEvent('evt-a', 3000)), true);
        assert.equal(await storage.putEvent('job', sampleEvent('evt-c', 2000, { $wm: 'undefined' }, 'approval')), true);
        assert.equal(await storage.putEvent('job', sampleEvent('evt-b', 9000, { changed: true })), false, 'a duplicate id');
        assert.deepEqual(await storage.listEvents('job'), [sampleEvent('evt-b', 2000), sampleEvent('evt-c', 2000, { $wm: 'undefined' }, 'approval'), sampleEvent('evt-a', 3000)]);
        assert.deepEqual(await storage.listEvents('job-2'), []);
      });

      it("keeps workflows' events apart, ids needing encoding included, and clear removes them", async () => {
        await storage.writeRecord('job', sampleRecord('job'), null);
        await storage.putEvent('job', sampleEvent('Evt/1', 1));
        await storage.putEvent('job', sampleEvent('evt/1', 2));
        await storage.putEvent('job-1', sampleEvent('Evt/1', 3));
        assert.deepEqual((await storage.listEvents('job')).map((e) => e.eventId), ['Evt/1', 'evt/1']);
        await storage.clear('job');
        assert.deepEqual(await storage.listEvents('job'), []);
        assert.deepEqual((await storage.listEvents('job-1')).map((e) => e.eventId), ['Evt/1']);
        assert.equal(await storage.putEvent('job', sampleEvent('Evt/1', 4)), true, 'a cleared id is free again');
      });

      it('lets exactly one of 10 concurrent senders of one event id store it', async () => {
        const stored = await Promise.all(Array.from({ length: 10 }, (_, i) => storage.putEvent('job', sampleEvent('evt', 1000 + i, { sender: i }))));
        assert.equal(stored.filter(Boolean).length, 1);
        const events = await storage.listEvents('job');
        assert.equal(events.length, 1);
        assert.deepEqual(events[0]!.payload, { sender: stored.indexOf(true) });
      });
    });
  });
}
