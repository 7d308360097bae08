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

  it('the NestJS sample resumes an injected workflow without charging twice', async () => {
    const { code, stdout, stderr } = await runTs('samples/nestjs/main.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/first run failed: .*step 'charge' failed after 1 attempt: billing API unavailable/);
    expect(stdout).to.contain('resumed: {"total":"restored","charge":"completed","receipt":"completed"}');
    expect(stdout).to.match(/charges: ch_1:acme:1500$/m);
  });

  it('the tsyringe sample resumes a resolved workflow and sends one email', async () => {
    const { code, stdout, stderr } = await runTs('samples/tsyringe/main.ts', {});
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('resumed: render=restored, send=completed; emails sent: 1');
  });
});
