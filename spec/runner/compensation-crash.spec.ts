import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { SagaFlow } from '../fixtures/saga-flow';
import { runTs } from '../helpers/child';
import { deferred, within } from '../helpers/deferred';
import { tempDir } from '../helpers/temp-dir';

const FIXTURE = 'spec/fixtures/saga-flow.ts';

/** `<what> <step>` lines of the events file, with the pid that wrote each. */
function events(file: string): { pid: string; line: string }[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((text) => {
      const [pid, ...rest] = text.split(' ');
      return { pid: pid!, line: rest.join(' ') };
    });
}

describe('compensation across a crash (FileStorage, a child process)', function () {
  this.timeout(60_000);

  it('a SIGKILL during compensation: the workflow stays compensating, and a worker in another process finishes it without repeating a committed compensation', async () => {
    const dir = await tempDir();
    try {
      const env = { STORE: join(dir.path, 'store'), EVENTS: join(dir.path, 'events.log'), WORKFLOW_ID: 'trip', CRASH_IN: 'charge', LEASE_TTL_MS: '500' };
      const crashed = await runTs(FIXTURE, env);
      expect(crashed.signal, crashed.stderr + crashed.stdout).to.equal('SIGKILL');
      const before = events(env.EVENTS).map((e) => e.line);
      // Reverse order: email's compensation committed, charge's was under way when the process died.
      expect(before).to.deep.equal(['run reserve', 'run charge', 'run email', 'run issue', 'undo-start email', 'undo-end email', 'undo-start charge']);

      const storage = new FileStorage({ directory: env.STORE });
      const runner = new WorkflowRunner({ storage, workflows: [SagaFlow], tracer: false });
      const stored = await runner.get('trip');
      expect(stored?.status).to.equal('compensating');
      expect(Object.keys(stored!.compensation!.done)).to.deep.equal(['email']);
      expect(stored?.error).to.deep.include({ code: 'NO_TICKETS', step: 'issue' });

      // Nobody re-submits it: the worker finds it by its recovery entry (the dead holder's lease is taken over).
      const ended = deferred<WorkflowFailedError>();
      runner.on('run:failed', ({ workflowId, error, result }) => workflowId === 'trip' && ended.resolve(new WorkflowFailedError(result, error)));
      const worker = new WorkflowWorker({ runner, pollIntervalMs: 20 });
      // The fixture's compensation notes its events in this process too.
      process.env.EVENTS = env.EVENTS;
      await worker.start();
      let outcome: WorkflowFailedError;
      try {
        outcome = await within(ended.promise, 30_000, 'the worker did not finish compensating');
      } finally {
        await worker.stop();
        delete process.env.EVENTS;
      }
      expect(outcome.result.status, JSON.stringify(outcome.result.steps) + String(outcome.cause)).to.equal('compensated');
      expect(outcome.result.steps.email!.compensation).to.deep.equal({ status: 'restored', attempts: 0 });
      expect(outcome.result.steps.charge!.compensation).to.deep.equal({ status: 'compensated', attempts: 1 });

      const all = events(env.EVENTS);
      const after = all.slice(before.length);
      expect(after.map((e) => e.line)).to.deep.equal(['undo-start charge', 'undo-end charge', 'undo-start reserve', 'undo-end reserve']);
      expect(after.every((e) => e.pid === String(process.pid))).to.equal(true);
      // No step ran again, and email was undone exactly once.
      expect(all.filter((e) => e.line === 'undo-end email')).to.have.length(1);
      expect(all.filter((e) => e.line.startsWith('run '))).to.have.length(4);
      const info = await runner.get('trip');
      expect(info?.status).to.equal('compensated');
      expect(await storage.dueWakes(Date.now() + 3_600_000, 10)).to.deep.equal([]);
    } finally {
      await dir.remove();
    }
  });
});
