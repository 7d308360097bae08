import { expect } from 'chai';
import { Step, Workflow } from '../decorators';
import { WorkflowDefinitionError } from '../lib/errors';
import { buildGraph, definitionChanges, storedSteps } from '../lib/graph';

function definitionError(build: () => unknown): WorkflowDefinitionError {
  try {
    build();
  } catch (error) {
    expect(error).to.be.instanceOf(WorkflowDefinitionError);
    return error as WorkflowDefinitionError;
  }
  expect.fail('expected WorkflowDefinitionError');
}

describe('step graph', () => {
  it('chains steps in declaration order by default', () => {
    class Seq {
      @Step() a() {}
      @Step() b() {}
      @Step() c() {}
    }
    const graph = buildGraph(Seq);
    expect(graph.steps.map((s) => [s.name, s.after])).to.deep.equal([['a', []], ['b', ['a']], ['c', ['b']]]);
    expect(graph.finalStep).to.equal('c');
    expect(graph.workflowName).to.equal('Seq');
  });

  it('builds a DAG from after, with roots from after: []', () => {
    @Workflow({ name: 'diamond' })
    class Diamond {
      @Step() start() {}
      @Step({ after: ['start'] }) left() {}
      @Step({ after: ['start'] }) right() {}
      @Step({ after: ['left', 'right'] }) join() {}
      @Step({ after: [] }) side() {}
    }
    const graph = buildGraph(Diamond);
    expect(graph.workflowName).to.equal('diamond');
    expect(graph.dependents.get('start')).to.deep.equal(['left', 'right']);
    expect(graph.byName.get('join')!.after).to.deep.equal(['left', 'right']);
    expect(graph.byName.get('side')!.after).to.deep.equal([]);
  });

  it('uses @Step({ name }) as the identity', () => {
    class Named {
      @Step({ name: 'extract-v1' }) extract() {}
      @Step() load() {}
    }
    expect(buildGraph(Named).steps.map((s) => [s.name, s.method, s.after])).to.deep.equal([['extract-v1', 'extract', []], ['load', 'load', ['extract-v1']]]);
  });

  it('rejects an unknown dependency, naming class and step', () => {
    class Bad {
      @Step() a() {}
      @Step({ after: ['nope'] }) b() {}
    }
    const error = definitionError(() => buildGraph(Bad));
    expect(error).to.include({ className: 'Bad', step: 'b' });
    expect(error.message).to.contain("unknown step 'nope'");
  });

  it('rejects a cycle, showing it', () => {
    class Cyclic {
      @Step({ after: ['c'] }) a() {}
      @Step({ after: ['a'] }) b() {}
      @Step({ after: ['b'] }) c() {}
    }
    expect(definitionError(() => buildGraph(Cyclic)).message).to.match(/cycle in 'after': (a -> c -> b -> a|.*->.*->.*->.*)/);
  });

  it('rejects duplicate names, self-dependency, a class without steps, and bad step options', () => {
    class Dup {
      @Step({ name: 'x' }) a() {}
      @Step({ name: 'x' }) b() {}
    }
    class Self {
      @Step({ after: ['a'] }) a() {}
    }
    class None {
      a() {}
    }
    class BadRetry {
      @Step({ retry: { attempts: 0 } }) a() {}
    }
    class BadTimeout {
      @Step({ timeoutMs: -5 }) a() {}
    }
    class BadBackoff {
      @Step({ retry: { attempts: 2, backoff: 0.5 } }) a() {}
    }
    expect(definitionError(() => buildGraph(Dup)).message).to.contain("duplicate step name 'x'");
    expect(definitionError(() => buildGraph(Self)).message).to.contain('itself');
    expect(definitionError(() => buildGraph(None)).message).to.contain('no @Step()');
    expect(definitionError(() => buildGraph(BadRetry)).message).to.contain('retry.attempts');
    expect(definitionError(() => buildGraph(BadTimeout)).message).to.contain('timeoutMs');
    expect(definitionError(() => buildGraph(BadBackoff)).message).to.contain('retry.backoff');
  });

  it('includes steps of a base class first', () => {
    class Base {
      @Step() a() {}
    }
    class Derived extends Base {
      @Step() b() {}
    }
    expect(buildGraph(Derived).steps.map((s) => [s.name, s.after])).to.deep.equal([['a', []], ['b', ['a']]]);
  });

  describe('definition changes against committed steps', () => {
    class V2 {
      @Step() a() {}
      @Step() b() {}
      @Step() c() {}
    }
    const graph = buildGraph(V2);
    it('accepts added steps', () => {
      expect(definitionChanges([{ name: 'a', after: [] }, { name: 'b', after: ['a'] }], graph, ['a', 'b'])).to.deep.equal([]);
    });
    it('reports a committed step removed or renamed, and a changed after', () => {
      const stored = [{ name: 'a', after: [] }, { name: 'x', after: ['a'] }, { name: 'c', after: ['a'] }];
      expect(definitionChanges(stored, graph, ['a', 'x', 'c'])).to.deep.equal([
        "committed step 'x' no longer exists",
        "step 'c' was after [a], now after [b]",
      ]);
    });
    it('ignores changes to steps that were never committed', () => {
      expect(definitionChanges([{ name: 'a', after: [] }, { name: 'gone', after: ['a'] }], graph, ['a'])).to.deep.equal([]);
    });
    it('round-trips through the stored form', () => {
      expect(definitionChanges(storedSteps(graph), graph, ['a', 'b', 'c'])).to.deep.equal([]);
    });
  });
});
