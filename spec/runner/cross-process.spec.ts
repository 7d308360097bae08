import { expect } from 'chai';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTs } from '../helpers/child';
import { tempDir } from '../helpers/temp-dir';

function executions(effects: string, step: string): number {
  try {
    return readFileSync(join(effects, `${step}.log`), 'utf8').trim().split('\n').length;
  } catch {
    return 0;
  }
}

describe('resume across processes', function () {
  this.timeout(60_000);

  it('a second process resumes a SIGKILLed one without re-running committed steps, at once', async () => {
    const dir = await tempDir();
    try {
      const store = join(dir.path, 'store');
      const effects = join(dir.path, 'effects');
      mkdirSync(effects);
      const crashed = await runTs('spec/fixtures/crash-worker.ts', { STORE: store, EFFECTS: effects, CRASH_AT: 'enrich' });
      expect(crashed.signal).to.equal('SIGKILL');
      expect(['extract', 'transform', 'enrich', 'load'].map((s) => executions(effects, s))).to.deep.equal([1, 1, 1, 0]);

      // The dead process's lease is stale at once (same host, dead pid): no waiting for expiry.
      const resumed = await runTs('spec/fixtures/crash-worker.ts', { STORE: store, EFFECTS: effects, RESUME: '1' });
      expect(resumed.code, resumed.stderr + resumed.stdout).to.equal(0);
      expect(JSON.parse(resumed.stdout)).to.deep.equal({
        output: { total: 30, loadedAt: 7 },
        steps: { extract: 'restored', transform: 'restored', enrich: 'completed', load: 'completed' },
      });
      expect(['extract', 'transform', 'enrich', 'load'].map((s) => executions(effects, s))).to.deep.equal([1, 1, 2, 1]);

      const fresh = await runTs('spec/fixtures/crash-worker.ts', { STORE: join(dir.path, 'fresh'), EFFECTS: effects, WORKFLOW_ID: 'uninterrupted' });
      expect(JSON.parse(fresh.stdout).output).to.deep.equal(JSON.parse(resumed.stdout).output, 'same output as an uninterrupted run');
    } finally {
      await dir.remove();
    }
  });
});
