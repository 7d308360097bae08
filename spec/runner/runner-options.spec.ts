import { expect } from 'chai';
import { hostname } from 'node:os';
import { Fingerprint, OnInputChange, Step } from '../../decorators';
import { InvalidOptionError, InvalidWorkflowIdError } from '../../lib/errors';
import { CanonicalFingerprint } from '../../lib/fingerprint';
import { checkRunnerOptions, DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_CONCURRENCY, DEFAULT_LEASE_TTL_MS, defaultStorage, resolveRun, type WorkflowRunnerOptions } from '../../lib/runner/runner-options';
import { MemoryStorage } from '../../lib/storage/memory-storage';

class Plain {
  @Step() a() {}
}

const strategy = { fingerprint: () => 'fixed' };

@OnInputChange('raise')
@Fingerprint(strategy)
class Decorated {
  @Step() a() {}
}

function invalid(check: () => unknown): InvalidOptionError {
  try {
    check();
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  return expect.fail('accepted');
}

describe('runner options', () => {
  describe('checkRunnerOptions', () => {
    it('accepts none, and every option at its limits', () => {
      checkRunnerOptions({});
      checkRunnerOptions({ concurrency: 1, failFast: false, onBusy: 'wait', busyTimeoutMs: 1, leaseTtlMs: 1, onInputChange: 'reset', fingerprint: { exclude: ['a'] }, logger: console, hooks: {}, tracer: false, storage: new MemoryStorage() });
      checkRunnerOptions({ onBusy: 'throw', failFast: true, logger: { log() {}, warn() {}, error() {} } });
    });

    const bad: [string, WorkflowRunnerOptions, string, string][] = [
      ['concurrency 0', { concurrency: 0 }, 'concurrency', 'an integer >= 1'],
      ['concurrency 1.5', { concurrency: 1.5 }, 'concurrency', 'an integer >= 1'],
      ['concurrency as text', { concurrency: '2' as never }, 'concurrency', 'an integer >= 1'],
      ['failFast as text', { failFast: 'yes' as never }, 'failFast', 'true or false'],
      ['an unknown onBusy', { onBusy: 'queue' as never }, 'onBusy', "'throw' or 'wait'"],
      ['busyTimeoutMs 0', { busyTimeoutMs: 0 }, 'busyTimeoutMs', 'an integer >= 1'],
      ['leaseTtlMs -1', { leaseTtlMs: -1 }, 'leaseTtlMs', 'an integer >= 1'],
      ['a logger without warn', { logger: { info() {}, error() {} } as never }, 'logger', 'an object with warn, error, and info or log methods'],
      ['a logger without error', { logger: { info() {}, warn() {} } as never }, 'logger', 'an object with warn, error, and info or log methods'],
      ['a logger without info or log', { logger: { warn() {}, error() {} } as never }, 'logger', 'an object with warn, error, and info or log methods'],
      ['null hooks', { hooks: null as never }, 'hooks', 'an object of event listeners'],
      ['hooks as a function', { hooks: (() => undefined) as never }, 'hooks', 'an object of event listeners'],
      ['a tracer without startSpan', { tracer: {} as never }, 'tracer', 'an OpenTelemetry Tracer or false'],
      ['tracer: true', { tracer: true as never }, 'tracer', 'an OpenTelemetry Tracer or false'],
      ['tracer: null', { tracer: null as never }, 'tracer', 'an OpenTelemetry Tracer or false'],
      ['maxInlineWaitMs -1', { maxInlineWaitMs: -1 }, 'maxInlineWaitMs', 'an integer >= 0'],
      ['maxInlineWaitMs 1.5', { maxInlineWaitMs: 1.5 }, 'maxInlineWaitMs', 'an integer >= 0'],
      ['maxInlineWaitMs as text', { maxInlineWaitMs: '5' as never }, 'maxInlineWaitMs', 'an integer >= 0'],
      ['a storage missing methods', { storage: { load() {}, commit() {} } as never }, 'storage', 'a CheckpointStorage (missing readRecord, readCheckpoint, writeRecord, clear, list, acquireLease, renewLease, releaseLease, readLease, addWake, removeWake, dueWakes, addEnded, removeEnded, endedBefore, putEvent, listEvents)'],
      ['a null storage', { storage: null as never }, 'storage', 'a CheckpointStorage (missing load, readRecord, readCheckpoint, writeRecord, commit, clear, list, acquireLease, renewLease, releaseLease, readLease, addWake, removeWake, dueWakes, addEnded, removeEnded, endedBefore, putEvent, listEvents)'],
    ];
    for (const [what, options, option, expected] of bad) {
      it(`refuses ${what}, naming the option and what it expects`, () => {
        const error = invalid(() => checkRunnerOptions(options));
        expect(error.option).to.equal(option);
        expect(error.expected).to.equal(expected);
      });
    }

    it('refuses a bad policy and a bad fingerprint option', () => {
      expect(() => checkRunnerOptions({ onInputChange: 'keep' as never })).to.throw(/onInputChange/);
      expect(invalid(() => checkRunnerOptions({ fingerprint: 5 as never })).option).to.equal('runner option fingerprint');
    });
  });

  it('defaults to a MemoryStorage, and keeps the one it is given', () => {
    expect(defaultStorage({})).to.be.instanceOf(MemoryStorage);
    const storage = new MemoryStorage();
    expect(defaultStorage({ storage })).to.equal(storage);
  });

  describe('resolveRun', () => {
    it('defaults: no resume, reuse chosen by nobody, the canonical fingerprint, documented numbers, this process as owner', () => {
      const run = resolveRun(Plain, {}, { workflowId: 'wf', input: { a: 1 } });
      expect(run).to.deep.include({ workflowId: 'wf', input: { a: 1 }, resume: false, policy: 'reuse', policyChosen: false, concurrency: DEFAULT_CONCURRENCY, failFast: true, onBusy: 'throw', busyTimeoutMs: DEFAULT_BUSY_TIMEOUT_MS, leaseTtlMs: DEFAULT_LEASE_TTL_MS });
      expect(run.owner).to.equal(`pid ${process.pid} on ${hostname()}`);
      expect(run.fingerprint).to.be.instanceOf(CanonicalFingerprint);
      expect([DEFAULT_CONCURRENCY, DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_LEASE_TTL_MS]).to.deep.equal([10, 60_000, 30_000]);
    });

    it('takes the runner options over the defaults', () => {
      const runner: WorkflowRunnerOptions = { concurrency: 3, failFast: false, onBusy: 'wait', busyTimeoutMs: 5, leaseTtlMs: 6, owner: 'me', onInputChange: 'reset', fingerprint: strategy };
      const run = resolveRun(Plain, runner, { workflowId: 'wf', resume: true });
      expect(run).to.deep.include({ resume: true, policy: 'reset', policyChosen: true, concurrency: 3, failFast: false, onBusy: 'wait', busyTimeoutMs: 5, leaseTtlMs: 6, owner: 'me', fingerprint: strategy });
    });

    it("takes the class's decorators over the runner's options", () => {
      const run = resolveRun(Decorated, { onInputChange: 'reset', fingerprint: { exclude: ['x'] } }, { workflowId: 'wf' });
      expect(run).to.deep.include({ policy: 'raise', policyChosen: true, fingerprint: strategy });
    });

    it('takes the run options over everything', () => {
      const mine = { fingerprint: () => 'mine' };
      const signal = new AbortController().signal;
      const run = resolveRun(Decorated, { concurrency: 3, failFast: false, onBusy: 'wait' }, { workflowId: 'wf', onInputChange: 'reuse', fingerprint: mine, concurrency: 2, failFast: true, onBusy: 'throw', signal });
      expect(run).to.deep.include({ policy: 'reuse', policyChosen: true, fingerprint: mine, concurrency: 2, failFast: true, onBusy: 'throw' });
      expect(resolveRun(Decorated, {}, { workflowId: 'wf', fingerprint: 'stored-as-is' }).fingerprint).to.equal('stored-as-is');
    });

    const bad: [string, object, string, string][] = [
      ['resume as text', { resume: 'yes' }, 'resume', 'true or false'],
      ['an empty fingerprint string', { fingerprint: '' }, 'fingerprint', 'a non-empty string or a FingerprintStrategy'],
      ['a fingerprint that is neither', { fingerprint: 3 }, "fingerprint of workflow 'wf'", 'a FingerprintStrategy or { exclude?, include? }'],
      ['a signal that is not an AbortSignal', { signal: {} }, 'signal', 'an AbortSignal'],
      ['concurrency 0', { concurrency: 0 }, 'concurrency', 'an integer >= 1'],
      ['failFast as a number', { failFast: 1 }, 'failFast', 'true or false'],
      ['an unknown onBusy', { onBusy: 'later' }, 'onBusy', "'throw' or 'wait'"],
    ];
    for (const [what, options, option, expected] of bad) {
      it(`refuses ${what}`, () => {
        const error = invalid(() => resolveRun(Plain, {}, { workflowId: 'wf', ...options } as never));
        expect(error.option).to.equal(option);
        expect(error.expected).to.equal(expected);
      });
    }

    it('refuses run options that are not an object, and a bad workflow id', () => {
      for (const run of [null, undefined, 'wf']) expect(invalid(() => resolveRun(Plain, {}, run as never))).to.include({ option: 'run options', expected: '{ workflowId, input?, resume?, ... }' });
      expect(() => resolveRun(Plain, {}, { workflowId: '' })).to.throw(InvalidWorkflowIdError);
    });

    it('names where a bad policy came from', () => {
      expect(() => resolveRun(Plain, {}, { workflowId: 'wf', onInputChange: 'x' as never })).to.throw("run option onInputChange of workflow 'wf'");
      expect(() => resolveRun(Plain, { onInputChange: 'x' as never }, { workflowId: 'wf' })).to.throw('input-change policy of Plain');
    });
  });
});
