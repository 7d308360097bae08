import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { runTs } from '../helpers/child';
import { tempDir } from '../helpers/temp-dir';

/** Steps each process started, from the events file. */
function started(events: string): string[] {
  return readFileSync(events, 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[1] === 'start')
    .map((l) => l.split(' ')[2]);
}

describe('resume across processes', function () {
  this.timeout(60_000);

  it('a second process resumes a SIGKILLed one without re-running committed steps, at once', async () => {
    const dir = await tempDir();
    try {
      const store = `file:${join(dir.path, 'store')}`;
      const events = join(dir.path, 'events.log');
      const crashed = await runTs('spec/fixtures/workflow-worker.ts', { STORE: store, EVENTS: events, CRASH_AT: 'step2' });
      expect(crashed.signal).to.equal('SIGKILL');
      expect(started(events)).to.deep.equal(['step0', 'step1', 'step2']);

      // The dead process's lease is stale at once (same host, dead pid): no waiting for expiry.
      const resumed = await runTs('spec/fixtures/workflow-worker.ts', { STORE: store, EVENTS: events, RESUME: '1' });
      expect(resumed.code, resumed.stderr + resumed.stdout).to.equal(0);
      const result = JSON.parse(resumed.stdout);
      expect(result.steps).to.deep.equal({ step0: 'restored', step1: 'restored', step2: 'completed', step3: 'completed' });
      expect(started(events)).to.deep.equal(['step0', 'step1', 'step2', 'step2', 'step3']);

      const fresh = await runTs('spec/fixtures/workflow-worker.ts', { STORE: `file:${join(dir.path, 'fresh')}` });
      expect(JSON.parse(fresh.stdout).output).to.equal(result.output, 'same output as an uninterrupted run');
    } finally {
      await dir.remove();
    }
  });

  it('a process that never saw the input resumes a SIGKILLed workflow by its id; another reads its status and input', async () => {
    const dir = await tempDir();
    try {
      const directory = join(dir.path, 'store');
      const events = join(dir.path, 'events.log');
      const crashed = await runTs('spec/fixtures/workflow-worker.ts', { STORE: `file:${directory}`, EVENTS: events, CRASH_AT: 'step2', SEED: '11' });
      expect(crashed.signal).to.equal('SIGKILL');

      // This process has no workflow class: it reads what the dead one stored.
      const reader = new WorkflowRunner({ storage: new FileStorage({ directory }) });
      const interrupted = await reader.get('pipeline');
      expect(interrupted).to.include({ workflowId: 'pipeline', workflowName: 'Pipeline', status: 'running' });
      expect(interrupted!.input).to.deep.equal({ seed: 11 });
      expect(interrupted!.steps).to.deep.include({ step2: { status: 'pending', attempts: 0, after: ['step1'] }, step3: { status: 'pending', attempts: 0, after: ['step2'] } });
      expect(interrupted!.steps.step1).to.include({ status: 'committed', attempts: 1 });
      expect((await reader.list({ status: 'running' })).items.map((i) => i.workflowId)).to.deep.equal(['pipeline']);

      const resumed = await runTs('spec/fixtures/workflow-worker.ts', { STORE: `file:${directory}`, EVENTS: events, RESUME: 'id' });
      expect(resumed.code, resumed.stderr + resumed.stdout).to.equal(0);
      expect(JSON.parse(resumed.stdout).steps).to.deep.equal({ step0: 'restored', step1: 'restored', step2: 'completed', step3: 'completed' });
      const fresh = await runTs('spec/fixtures/workflow-worker.ts', { STORE: `file:${join(dir.path, 'fresh')}`, SEED: '11' });
      expect(JSON.parse(resumed.stdout).output).to.equal(JSON.parse(fresh.stdout).output, 'the stored input, not another');

      const completed = await reader.get('pipeline');
      expect(completed).to.include({ status: 'completed', createdAt: interrupted!.createdAt });
      expect((await reader.list({ status: 'running' })).items).to.deep.equal([]);
    } finally {
      await dir.remove();
    }
  });
});
