import { expect } from 'chai';
import { container, injectable } from 'tsyringe';
import { Step, Workflow } from '../../decorators';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';

class Counter {
  calls = 0;
  fail = true;
}

@injectable()
@Workflow({ name: 'counted' })
class Counted {
  constructor(private readonly counter: Counter) {}
  @Step() count() {
    return ++this.counter.calls;
  }
  @Step() finish(ctx: StepContext<unknown, number>) {
    if (this.counter.fail) throw new Error('not yet');
    return ctx.previous * 10;
  }
}

@Workflow({ name: 'reordered' })
@injectable()
class Reordered {
  constructor(readonly counter: Counter) {}
  @Step() only() {
    return this.counter.calls;
  }
}

describe('tsyringe', () => {
  it('resolves a decorated workflow with its dependencies; a crashed run resumes', async () => {
    const child = container.createChildContainer();
    const counter = new Counter();
    child.registerInstance(Counter, counter);
    const runner = new WorkflowRunner({ storage: new MemoryStorage() });
    await runner.run(child.resolve(Counted), { workflowId: 'c' }).catch(() => undefined);
    counter.fail = false;
    const result = await runner.run(child.resolve(Counted), { workflowId: 'c', resume: true });
    expect(result.output).to.equal(10);
    expect(counter.calls).to.equal(1);
    expect(child.resolve(Reordered).counter).to.equal(counter, 'decorator order does not matter');
  });
});
