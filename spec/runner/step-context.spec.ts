import { expect } from 'chai';
import { StepDependencyError } from '../../lib/errors';
import { createStepContext, type StepContextInit } from '../../lib/runner/step-context';

const init = (dependencies: [string, unknown][], over: Partial<StepContextInit> = {}): StepContextInit => ({
  workflowId: 'wf',
  step: 'join',
  attempt: 2,
  signal: new AbortController().signal,
  input: { a: 1 },
  after: dependencies.map(([name]) => name),
  outputs: dependencies.map(([, output]) => output),
  ...over,
});

function dependencyError(read: () => unknown): StepDependencyError {
  try {
    read();
  } catch (error) {
    expect(error).to.be.instanceOf(StepDependencyError);
    return error as StepDependencyError;
  }
  return expect.fail('no error');
}

describe('step context', () => {
  it('carries the workflow id, step, attempt, input and signal', () => {
    const signal = new AbortController().signal;
    const ctx = createStepContext(init([], { signal }));
    expect(ctx).to.include({ workflowId: 'wf', step: 'join', attempt: 2, signal });
    expect(ctx.input).to.deep.equal({ a: 1 });
  });

  it('reads a lazily made signal only when asked', () => {
    let reads = 0;
    const controller = new AbortController();
    const ctx = createStepContext(init([], { signal: { get signal() { reads++; return controller.signal; } } }));
    expect(reads).to.equal(0);
    expect(ctx.signal).to.equal(controller.signal);
    expect(reads).to.equal(1);
  });

  it('previous: the one dependency, undefined without one, including an undefined output', () => {
    expect(createStepContext(init([['a', { rows: 3 }]])).previous).to.deep.equal({ rows: 3 });
    expect(createStepContext(init([])).previous).to.equal(undefined);
    expect(createStepContext(init([['a', undefined]])).previous).to.equal(undefined);
  });

  it('previous with several dependencies is ambiguous, and says to use result()', () => {
    const error = dependencyError(() => createStepContext(init([['a', 1], ['b', 2]])).previous);
    expect(error.message).to.equal("workflow 'wf', step 'join': ctx.previous is ambiguous: the step depends on a, b; use ctx.result(name)");
    expect(error.code).to.equal('WAYMARK_STEP_DEPENDENCY');
  });

  it('result(name): any dependency, undefined outputs included, and nothing else', () => {
    const ctx = createStepContext(init([['a', 1], ['b', undefined]]));
    expect(ctx.result('a')).to.equal(1);
    expect(ctx.result('b')).to.equal(undefined);
    expect(dependencyError(() => ctx.result('c')).message).to.equal(
      "workflow 'wf', step 'join': ctx.result('c') asks for a step that is not a dependency of this one (dependencies: a, b); add it to @Step({ after: [...] })",
    );
    expect(dependencyError(() => createStepContext(init([])).result('a')).message).to.contain('(dependencies: none)');
  });
});
