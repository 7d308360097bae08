import { expect } from 'chai';
import { RunRecord, waitingState } from '../../lib/runner/run-record';
import type { Lease, WorkflowRecord } from '../../lib/storage/records';
import { callLog, spyStorage, type SpiedStorage } from '../helpers/spy-storage';

const T1 = '2026-12-01T10:00:00.000Z';
const T2 = '2026-12-01T11:00:00.000Z';

describe('the run record', () => {
  describe('waitingState', () => {
    it('takes the earliest timer, each waiting step with what it waits for, and the awaited events sorted once each', () => {
      const state = waitingState(
        [
          { step: 'late', wakeAt: T2 },
          { step: 'early', wakeAt: T1, waitingFor: 'refund' },
          { step: 'approve', waitingFor: 'approval' },
          { step: 'again', waitingFor: 'refund' },
        ],
        { early: T1 },
      );
      expect(state).to.deep.equal({
        wakeAt: Date.parse(T1),
        waiting: { late: { wakeAt: T2 }, early: { wakeAt: T1, event: 'refund' }, approve: { event: 'approval' }, again: { event: 'refund' } },
        waitingFor: ['approval', 'refund'],
        timers: { early: T1 },
      });
      // Steps waiting only for events have no wake time at all (not undefined keys).
      expect(Object.keys(waitingState([{ step: 'a', waitingFor: 'x' }], {}))).to.deep.equal(['waiting', 'waitingFor', 'timers']);
      expect(Object.keys(waitingState([{ step: 'a', waitingFor: 'x' }], {}).waiting.a)).to.deep.equal(['event']);
    });
  });

  describe('RunRecord', () => {
    let storage: SpiedStorage;
    let lease: Lease;
    const base: WorkflowRecord = { formatVersion: 1, workflowId: 'wf', workflowName: 'n', fingerprint: 'f', steps: [], updatedAt: T1, status: 'running' };

    const writes = () => callLog(storage).filter((c) => c !== 'readRecord');

    async function runRecord(record: WorkflowRecord): Promise<RunRecord> {
      storage = spyStorage();
      const attempt = await storage.acquireLease('wf', 'me', 60_000);
      if (!attempt.acquired) throw new Error('no lease');
      lease = attempt.lease;
      const version = await storage.writeRecord('wf', record, null, lease);
      storage.addWake.resetHistory();
      storage.writeRecord.resetHistory();
      storage.acquireLease.resetHistory();
      return new RunRecord(storage, 'wf', record, version, () => lease);
    }

    it('marks a waiting workflow running once, with its recovery entry, dropping what it waited for', async () => {
      const run = await runRecord({ ...base, status: 'waiting', wakeAt: T1, waitingFor: ['x'], waiting: { s: { event: 'x' } }, error: { code: 'C', message: 'm' } });
      await Promise.all([run.markRunning(Date.parse(T2)), run.markRunning(Date.parse(T2) + 5)]);
      await run.markRunning(Date.parse(T2) + 9);
      expect(writes()).to.deep.equal(['addWake', 'writeRecord', 'removeWake']);
      expect(storage.addWake.firstCall.args[0]).to.deep.equal({ workflowId: 'wf', wakeAt: Date.parse(T2) });
      expect(storage.removeWake.firstCall.args[0]).to.deep.equal({ workflowId: 'wf', wakeAt: Date.parse(T1) });
      const stored = (await storage.readRecord('wf'))!.record;
      expect(stored).to.include({ status: 'running', wakeAt: T2 });
      expect(stored).to.not.have.any.keys('waitingFor', 'waiting', 'error');
      expect(JSON.parse(JSON.stringify(run.current))).to.deep.equal(stored);
    });

    it('writes nothing to mark running a run that is running already', async () => {
      const run = await runRecord(base);
      await run.markRunning(Date.now());
      expect(writes()).to.deep.equal([]);
    });

    it('stores a waiting state, and writes nothing when the record says that already', async () => {
      const run = await runRecord({ ...base, wakeAt: T2 });
      const state = waitingState([{ step: 's', wakeAt: T1 }], { s: T1 });
      await run.wait(state);
      expect(writes()).to.deep.equal(['addWake', 'writeRecord', 'removeWake']);
      expect((await storage.readRecord('wf'))!.record).to.deep.include({ status: 'waiting', wakeAt: T1, waiting: { s: { wakeAt: T1 } }, waitingFor: [], timers: { s: T1 } });
      await run.wait(state);
      expect(writes()).to.have.length(3, 'the same waiting state again: nothing written');
      // Another waiting state (an event now awaited too) is written, over the same wake entry.
      await run.wait(waitingState([{ step: 's', wakeAt: T1 }, { step: 't', waitingFor: 'go' }], {}));
      expect(writes()).to.deep.equal(['addWake', 'writeRecord', 'removeWake', 'writeRecord']);
      expect((await storage.readRecord('wf'))!.record).to.deep.include({ waitingFor: ['go'], timers: { s: T1 } });
    });

    it('writes a waiting state when the record says running with the same wait fields', async () => {
      const state = waitingState([{ step: 's', wakeAt: T1 }], {});
      const run = await runRecord({ ...base, status: 'running', wakeAt: T1, waiting: state.waiting, waitingFor: [], timers: {} });
      await run.wait(state);
      expect(writes()).to.deep.equal(['writeRecord'], 'the wake entry is the same one: neither added nor removed');
      expect((await storage.readRecord('wf'))!.record.status).to.equal('waiting');
    });

    it('ends the workflow out of the wake index; an end without a wake entry touches only the record', async () => {
      const run = await runRecord({ ...base, wakeAt: T1, timers: { s: T1 } });
      await run.end({ status: 'completed' });
      expect(writes()).to.deep.equal(['writeRecord', 'removeWake']);
      const stored = (await storage.readRecord('wf'))!.record;
      expect(stored.status).to.equal('completed');
      expect(stored).to.not.have.any.keys('wakeAt', 'timers');
      await run.end({ status: 'failed', error: { code: 'C', message: 'm' } });
      expect(writes()).to.deep.equal(['writeRecord', 'removeWake', 'writeRecord']);
    });
  });
});
