import { expect } from 'chai';
import sinon from 'sinon';
import { Fingerprint, OnInputChange, Step, Workflow } from '../../decorators';
import { InputChangedError, InvalidInputChangePolicyError, UnfingerprintableInputError, WorkflowDefinitionChangedError, WorkflowFailedError } from '../../lib/errors';
import type { InputChange, InputChangePolicy, InputChangePolicyName } from '../../lib/input-change-policy';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { snapshot } from '../helpers/snapshot';
import { tempDir } from '../helpers/temp-dir';
import { callLog, spyStorage } from '../helpers/spy-storage';

interface Order {
  customerId: string;
  requestId?: string;
}

const runs: string[] = [];
let failLast = false;

class OrderEtl {
  @Step() extract(ctx: StepContext<Order>) {
    runs.push('extract');
    return `rows of ${ctx.input.customerId}`;
  }
  @Step() transform(ctx: StepContext<Order, string>) {
    runs.push('transform');
    return ctx.previous.toUpperCase();
  }
  @Step() load(ctx: StepContext<Order, string>) {
    runs.push('load');
    if (failLast) throw new Error('load failed');
    return ctx.previous;
  }
}

const policies: [string, InputChangePolicy, InputChangePolicyName][] = [
  ['reuse', 'reuse', 'reuse'],
  ['reset', 'reset', 'reset'],
  ['raise', 'raise', 'raise'],
  ['a function answering reuse', () => 'reuse', 'reuse'],
  ['a function answering reset', async () => 'reset' as const, 'reset'],
  ['a function answering raise', () => 'raise', 'raise'],
];

describe('input-change policies', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let runner: WorkflowRunner;
  beforeEach(async () => {
    dir = await tempDir();
    runner = new WorkflowRunner({ storage: new FileStorage({ directory: dir.path }) });
    runs.length = 0;
  });
  afterEach(() => dir.remove());

  /** A first run that commits extract and transform, then fails at load. */
  async function interruptedRun(input: Order): Promise<void> {
    failLast = true;
    await runner.run(new OrderEtl(), { workflowId: 'order-42', input }).catch((e) => expect(e).to.be.instanceOf(WorkflowFailedError));
    failLast = false;
    runs.length = 0;
  }

  for (const [label, policy, decided] of policies) {
    for (const changed of [false, true]) {
      for (const resume of [false, true]) {
        it(`${label} × input ${changed ? 'changed' : 'unchanged'} × resume ${resume ? 'on' : 'off'}`, async () => {
          await interruptedRun({ customerId: 'c1' });
          const before = await snapshot(dir.path);
          const spy = typeof policy === 'function' ? sinon.spy(policy) : policy;
          const input = { customerId: changed ? 'c2' : 'c1' };
          const outcome = await runner.run(new OrderEtl(), { workflowId: 'order-42', input, resume, onInputChange: spy }).catch((e: unknown) => e);

          const consulted = resume && changed;
          if (typeof spy === 'function') expect((spy as sinon.SinonSpy).callCount).to.equal(consulted ? 1 : 0, 'the function is asked only when a resumed input changed');
          if (!resume || !changed) {
            expect(runs).to.deep.equal(resume ? ['load'] : ['extract', 'transform', 'load']);
            return;
          }
          if (decided === 'raise') {
            expect(outcome).to.be.instanceOf(InputChangedError);
            expect(outcome).to.include({ workflowId: 'order-42' });
            expect((outcome as InputChangedError).storedFingerprint).to.not.equal((outcome as InputChangedError).currentFingerprint);
            expect(runs).to.deep.equal([]);
            expect(await snapshot(dir.path)).to.deep.equal(before, 'raise writes nothing');
            return;
          }
          expect(runs).to.deep.equal(decided === 'reuse' ? ['load'] : ['extract', 'transform', 'load']);
          expect((outcome as { output: string }).output).to.equal(decided === 'reuse' ? 'ROWS OF C1' : 'ROWS OF C2');
          const record = await runner.storage.load('order-42');
          expect(record?.record?.fingerprint).to.equal((outcome as { fingerprint: string }).fingerprint, 'the new fingerprint is stored');
        });
      }
    }
  }

  it("'reset' clears every old checkpoint before running: a reset run stopped at its first step leaves nothing of the old input", async () => {
    await interruptedRun({ customerId: 'c1' });
    const extract = sinon.stub(OrderEtl.prototype, 'extract').throws(new Error('source down'));
    try {
      await runner.run(new OrderEtl(), { workflowId: 'order-42', input: { customerId: 'c2' }, resume: true, onInputChange: 'reset' }).catch((e) => expect(e).to.be.instanceOf(WorkflowFailedError));
    } finally {
      extract.restore();
    }
    expect((await runner.storage.load('order-42'))?.committedSteps).to.deep.equal([]);
    runs.length = 0;
    const resumed = await runner.run(new OrderEtl(), { workflowId: 'order-42', input: { customerId: 'c2' }, resume: true });
    expect(runs).to.deep.equal(['extract', 'transform', 'load']);
    expect(resumed.output).to.equal('ROWS OF C2');
  });

  it("checks the definition when a changed input is reused: a committed step re-wired is refused, whatever the policy", async () => {
    await interruptedRun({ customerId: 'c1' });
    @Workflow({ name: 'OrderEtl' })
    class Rewired {
      @Step() extract() {}
      @Step({ after: [] }) transform() {}
      @Step() load() {}
    }
    for (const onInputChange of ['reuse', () => 'reuse'] as InputChangePolicy[]) {
      const error = await runner.run(new Rewired(), { workflowId: 'order-42', input: { customerId: 'c2' }, resume: true, onInputChange }).catch((e: unknown) => e);
      expect(error, `policy ${String(onInputChange)}`).to.be.instanceOf(WorkflowDefinitionChangedError);
      expect((error as WorkflowDefinitionChangedError).differences).to.deep.equal(["step 'transform' was after [extract], now after []"]);
    }
  });

  it('tells a policy function the workflow id, both fingerprints and the committed steps', async () => {
    await interruptedRun({ customerId: 'c1' });
    let seen: InputChange | undefined;
    await runner.run(new OrderEtl(), {
      workflowId: 'order-42',
      input: { customerId: 'c2' },
      resume: true,
      onInputChange: (change) => {
        seen = change;
        return 'reuse';
      },
    });
    expect(seen?.workflowId).to.equal('order-42');
    expect(seen?.storedFingerprint).to.match(/^[0-9a-f]{64}$/);
    expect(seen?.currentFingerprint).to.match(/^[0-9a-f]{64}$/).and.not.equal(seen?.storedFingerprint);
    expect([...(seen?.committedSteps ?? [])].sort()).to.deep.equal(['extract', 'transform']);
  });

  it('rejects an invalid run-option policy at run start, even when the input did not change, touching nothing', async () => {
    const storage = spyStorage();
    const error = await new WorkflowRunner({ storage })
      .run(new OrderEtl(), { workflowId: 'w', input: { customerId: 'c' }, onInputChange: 'rerun' as never })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidInputChangePolicyError);
    expect((error as Error).message).to.contain("'rerun'").and.contain("'reuse', 'reset', 'raise'");
    expect(callLog(storage)).to.deep.equal([]);
  });

  it('rejects an invalid runner-option policy at construction', () => {
    expect(() => new WorkflowRunner({ onInputChange: 42 as never })).to.throw(InvalidInputChangePolicyError);
  });

  it('rejects what a policy function returns when it is not a policy, writing nothing', async () => {
    await interruptedRun({ customerId: 'c1' });
    const before = await snapshot(dir.path);
    const error = await runner
      .run(new OrderEtl(), { workflowId: 'order-42', input: { customerId: 'c2' }, resume: true, onInputChange: () => 'maybe' as never })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidInputChangePolicyError);
    expect((error as Error).message).to.contain("'maybe'").and.contain('order-42');
    expect(await snapshot(dir.path)).to.deep.equal(before);
  });

  describe('precedence: run option > @OnInputChange > runner option > reuse', () => {
    @OnInputChange('raise')
    class Raising extends OrderEtl {}

    async function decide(target: object, runnerPolicy: InputChangePolicy | undefined, runPolicy: InputChangePolicy | undefined): Promise<string> {
      const storage = new MemoryStorage();
      const r = new WorkflowRunner({ storage, onInputChange: runnerPolicy });
      failLast = true;
      await r.run(target, { workflowId: 'p', input: { customerId: 'a' } }).catch(() => undefined);
      failLast = false;
      runs.length = 0;
      const outcome = await r.run(target, { workflowId: 'p', input: { customerId: 'b' }, resume: true, onInputChange: runPolicy }).catch((e: unknown) => e);
      if (outcome instanceof InputChangedError) return 'raise';
      return runs.length === 1 ? 'reuse' : 'reset';
    }

    it('defaults to reuse', async () => expect(await decide(new OrderEtl(), undefined, undefined)).to.equal('reuse'));
    it('runner option over the default', async () => expect(await decide(new OrderEtl(), 'reset', undefined)).to.equal('reset'));
    it('@OnInputChange over the runner option', async () => expect(await decide(new Raising(), 'reset', undefined)).to.equal('raise'));
    it('run option over @OnInputChange', async () => expect(await decide(new Raising(), 'raise', 'reset')).to.equal('reset'));
  });

  describe('fingerprints', () => {
    it('ignores excluded volatile fields, so a redelivery with a new request id is not a change', async () => {
      @Fingerprint({ exclude: ['requestId'] })
      @OnInputChange('raise')
      class Tolerant extends OrderEtl {}
      failLast = true;
      await runner.run(new Tolerant(), { workflowId: 't', input: { customerId: 'c', requestId: 'r1' } }).catch(() => undefined);
      failLast = false;
      const result = await runner.run(new Tolerant(), { workflowId: 't', input: { customerId: 'c', requestId: 'r2' }, resume: true });
      expect(result.steps.extract.status).to.equal('restored');
    });

    it('takes a fingerprint string from the run option instead of computing one', async () => {
      const result = await runner.run(new OrderEtl(), { workflowId: 's', input: { customerId: 'c' }, fingerprint: 'v1' });
      expect(result.fingerprint).to.equal('v1');
      const error = await runner.run(new OrderEtl(), { workflowId: 's', input: { customerId: 'c' }, fingerprint: 'v2', resume: true, onInputChange: 'raise' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InputChangedError).and.include({ storedFingerprint: 'v1', currentFingerprint: 'v2' });
    });

    it('uses a strategy injected per run over one per class over one per runner', async () => {
      const named = (name: string) => ({ fingerprint: () => name });
      @Fingerprint(named('class'))
      class WithStrategy extends OrderEtl {}
      const r = new WorkflowRunner({ fingerprint: named('runner') });
      expect((await r.run(new OrderEtl(), { workflowId: 'a', input: { customerId: 'c1' } })).fingerprint).to.equal('runner');
      expect((await r.run(new WithStrategy(), { workflowId: 'b', input: { customerId: 'c1' } })).fingerprint).to.equal('class');
      expect((await r.run(new WithStrategy(), { workflowId: 'c', input: { customerId: 'c1' }, fingerprint: named('run') })).fingerprint).to.equal('run');
    });

    it('rejects an input that cannot be fingerprinted before touching storage', async () => {
      const storage = spyStorage();
      // @ts-expect-error: not an Order (no customerId), which the compiler refuses too
      const error = await new WorkflowRunner({ storage }).run(new OrderEtl(), { workflowId: 'x', input: { at: new Map() } }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(UnfingerprintableInputError).and.include({ path: 'input.at' });
      expect(callLog(storage)).to.deep.equal([]);
    });
  });

  describe('a changed input reused by the default policy, which nobody chose', () => {
    /** Runs `run` and returns the process warnings it emitted with `code`. */
    async function warningsDuring(code: string, run: () => Promise<unknown>): Promise<Error[]> {
      const seen: Error[] = [];
      const onWarning = (warning: Error & { code?: string }) => {
        if (warning.code === code) seen.push(warning);
      };
      process.on('warning', onWarning);
      try {
        await run();
        // Process warnings are delivered on a later tick than emitWarning.
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      return seen;
    }

    it('warns once per run through the logger, naming the workflow and how to choose a policy', async () => {
      const logger = { info: sinon.fake(), warn: sinon.fake(), error: sinon.fake() };
      runner = new WorkflowRunner({ storage: runner.storage, logger });
      await interruptedRun({ customerId: 'c1' });
      const result = await runner.run(new OrderEtl(), { workflowId: 'order-42', input: { customerId: 'c2' }, resume: true });
      expect(result.steps.extract.status).to.equal('restored');
      // (The input:changed event is logged at warn level too; the guidance is its own warning.)
      const implicit = logger.warn.getCalls().filter((c) => (c.args[1] as { code?: string }).code === 'WAYMARK_IMPLICIT_REUSE');
      expect(implicit).to.have.length(1);
      expect(String(implicit[0].args[0])).to.contain("workflow 'order-42'").and.contain('@OnInputChange').and.contain("'reset'");
      const { storedFingerprint, currentFingerprint } = implicit[0].args[1] as { storedFingerprint: string; currentFingerprint: string };
      expect(String(implicit[0].args[0])).to.contain(`(stored fingerprint ${storedFingerprint}, current ${currentFingerprint}) and they were reused`);
      expect(storedFingerprint).to.not.equal(currentFingerprint);
      expect(implicit[0].args[1]).to.include({ workflowId: 'order-42' });
    });

    it('without a logger, warns as a process warning', async () => {
      await interruptedRun({ customerId: 'c1' });
      const warnings = await warningsDuring('WAYMARK_IMPLICIT_REUSE', () =>
        runner.run(new OrderEtl(), { workflowId: 'order-42', input: { customerId: 'c2' }, resume: true }),
      );
      expect(warnings).to.have.length(1);
      expect(warnings[0].message).to.contain("workflow 'order-42'");
    });

    it("is silent when 'reuse' was chosen (run option, decorator or runner option), and when the input did not change", async () => {
      @OnInputChange('reuse')
      class ChosenReuse extends OrderEtl {}
      const cases: [string, WorkflowRunner, object, InputChangePolicy | undefined, string][] = [
        ['run option', runner, new OrderEtl(), 'reuse', 'c2'],
        ['decorator', runner, new ChosenReuse(), undefined, 'c2'],
        ['runner option', new WorkflowRunner({ storage: runner.storage, onInputChange: 'reuse' }), new OrderEtl(), undefined, 'c2'],
        ['unchanged input', runner, new OrderEtl(), undefined, 'c1'],
      ];
      for (const [label, r, workflow, onInputChange, customerId] of cases) {
        failLast = true;
        await r.run(workflow, { workflowId: label, input: { customerId: 'c1' } }).catch(() => undefined);
        failLast = false;
        const warnings = await warningsDuring('WAYMARK_IMPLICIT_REUSE', () => r.run(workflow, { workflowId: label, input: { customerId }, resume: true, onInputChange }));
        expect(warnings, label).to.have.length(0);
      }
    });
  });
});
