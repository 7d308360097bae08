import { expect } from 'chai';
import { runTs } from './helpers/child';

describe('samples', function () {
  this.timeout(60_000);

  it('the demo crashes at step 3, resumes skipping steps 1-2, resets on a changed input and raises under raise', async () => {
    const { code, stdout, stderr } = await runTs('samples/order-etl/demo.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('-> extract=completed, transform=completed, load=failed');
    expect(stdout).to.contain('extract: skipped, restored from its checkpoint');
    expect(stdout).to.contain('-> completed: extract=restored, transform=restored, load=completed');
    expect(stdout).to.contain("policy 'reset'");
    expect(stdout).to.contain('-> completed: extract=completed, transform=completed, load=completed');
    expect(stdout).to.contain('WAYMARK_INPUT_CHANGED');
    expect(stdout.match(/extract: reading/g)).to.have.length(2, 'extract ran in the first run and after the reset only');
  });
});
