import { expect } from 'chai';
import { Step, Workflow } from '../decorators';
import { WorkflowDefinitionError } from '../lib/errors';
import { buildGraph } from '../lib/graph';

describe('flow-control options of a workflow class', () => {
  it('refuses a concurrency key, a limit or a rate limit that cannot work, naming the class and step', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => Workflow({ concurrency: { key: 'k', limit: 0 } }), /Bad1: concurrency.limit must be an integer from 1 to 1000, got 0/],
      [() => Workflow({ concurrency: { key: '', limit: 1 } }), /Bad1: concurrency.key: a key must have 1-100 characters, got 0, or a function returning one/],
      [() => Workflow({ concurrency: null as never }), /Bad1: concurrency must be an object \{ key, limit \}, got null/],
    ];
    for (const [decorate, message] of cases) {
      class Bad1 {
        @Step() a() {
          return 1;
        }
      }
      (decorate() as (target: unknown) => void)(Bad1);
      expect(() => buildGraph(Bad1)).to.throw(WorkflowDefinitionError, message);
    }
    const steps: [object, RegExp][] = [
      [{ limit: { key: 'k', concurrency: 1.5 } }, /Bad2\.a: limit.concurrency must be an integer from 1 to 1000, got 1.5/],
      [{ limit: { key: 'a\u0000b', concurrency: 1 } }, /Bad2\.a: limit.key: a key must have no control characters/],
      [{ rateLimit: { key: 'k', limit: 5, perMs: 0 } }, /Bad2\.a: rateLimit.perMs must be an integer >= 1 \(the window, in ms\), got 0/],
      [{ rateLimit: { key: 'k', limit: 5000, perMs: 10 } }, /Bad2\.a: rateLimit.limit must be an integer from 1 to 1000, got 5000/],
      [{ limit: { key: 'k', concurrency: 1 }, spawn: () => [] }, /Bad2\.a: a step that starts child workflows cannot take a limit/],
    ];
    for (const [options, message] of steps) {
      class Bad2 {
        @Step(options) a() {
          return 1;
        }
      }
      expect(() => buildGraph(Bad2)).to.throw(WorkflowDefinitionError, message);
    }
  });

  it('keeps valid options on the graph, and marks a class that has any as limited', () => {
    const key = (input: { c: string }) => input.c;
    @Workflow({ concurrency: { key, limit: 2 } })
    class Keyed {
      @Step({ limit: { key: 'api', concurrency: 5 }, rateLimit: { key: 'llm', limit: 100, perMs: 60_000 } }) call() {
        return 1;
      }
      @Step() after() {
        return 2;
      }
    }
    class Plain {
      @Step() only() {
        return 1;
      }
    }
    const graph = buildGraph(Keyed);
    expect(graph.concurrency).to.deep.equal({ key, limit: 2 });
    expect(graph.byName.get('call')!.limits).to.deep.equal({ concurrency: { key: 'api', limit: 5 }, rate: { key: 'llm', limit: 100, perMs: 60_000 } });
    expect(graph.byName.get('after')!.limits).to.equal(undefined);
    expect([graph.limited, buildGraph(Plain).limited]).to.deep.equal([true, false]);
  });
});
