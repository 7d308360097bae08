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
      // @ts-expect-error: the compiler refuses it too (the class has no method 'nope')
      @Step({ after: ['nope'] }) b() {}
    }
    const error = definitionError(() => buildGraph(Bad));
    expect(error).to.include({ className: 'Bad', step: 'b' });
    expect(error.message).to.contain("unknown step 'nope'");
  });

  it('refuses step names every object has, which would vanish from results keyed by step', () => {
    for (const name of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
      class Confused {
        @Step({ name }) a() {}
        @Step() b() {}
      }
      const error = definitionError(() => buildGraph(Confused));
      expect(error, name).to.include({ className: 'Confused', step: name });
      expect(error.message).to.contain(`step name '${name}'`).and.contain('@Step({ name })');
    }
    class HasOwn {
      @Step() hasOwnProperty() {
        return true;
      }
    }
    expect(definitionError(() => buildGraph(HasOwn)).step).to.equal('hasOwnProperty');
  });

  it('rejects a cycle, showing it', () => {
    class Cyclic {
      @Step({ after: ['c'] }) a() {}
      @Step({ after: ['a'] }) b() {}
      @Step({ after: ['b'] }) c() {}
    }
    expect(definitionError(() => buildGraph(Cyclic)).message).to.match(/cycle in 'after': (a -> c -> b -> a|.*->.*->.*->.*)/);
  });

  it('checks a chain far deeper than the call stack for cycles (the walk does not recurse)', () => {
    class Deep {}
    // Each step after the next one declared: one chain 50,000 deep, walked from its first step.
    for (let i = 0; i < 50_000; i++) {
      const name = `s${i}`;
      Object.defineProperty(Deep.prototype, name, { value: () => i });
      Step({ after: i === 49_999 ? [] : [`s${i + 1}`] })(Deep.prototype, name, Object.getOwnPropertyDescriptor(Deep.prototype, name)!);
    }
    const graph = buildGraph(Deep);
    expect(graph.steps).to.have.length(50_000);
    expect(graph.steps[0]!.afterIndexes).to.deep.equal([1]);
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

  describe('says exactly what is wrong with a definition, naming class and step', () => {
    const long = 'x'.repeat(101);
    const cases: [string, () => new () => object, string][] = [
      ['an empty @Workflow name', () => { @Workflow({ name: '' }) class Empty { @Step() a() {} } return Empty; }, 'Empty: @Workflow name must be a non-empty string'],
      ['a @Workflow name that is not a string', () => { @Workflow({ name: 7 as never }) class Seven { @Step() a() {} } return Seven; }, 'Seven: @Workflow name must be a non-empty string'],
      ['a name longer than 100', () => { class Long { @Step({ name: long }) a() {} } return Long; }, `Long.${long}: step name must be 1-100 characters without control characters (symbol-keyed methods need @Step({ name }))`],
      ['an empty name', () => { class Blank { @Step({ name: '' }) a() {} } return Blank; }, 'Blank.a: step name must be 1-100 characters'],
      ['a control character', () => { class Ctl { @Step({ name: 'a\u001fb' }) a() {} } return Ctl; }, 'Ctl.a\u001fb: step name must be'],
      ['DEL', () => { class Del { @Step({ name: 'a\u007f' }) a() {} } return Del; }, 'Del.a\u007f: step name must be'],
      ['a NUL', () => { class Nul { @Step({ name: '\u0000' }) a() {} } return Nul; }, 'Nul.\u0000: step name must be'],
      ['a symbol-keyed method without a name', () => { const k = Symbol('sym'); class Sym { @Step() [k]() {} } return Sym; }, 'Sym.Symbol(sym): step name must be'],
      ['after that is not a list', () => { class A { @Step({ after: 'x' as never }) a() {} } return A; }, "A.a: 'after' must be an array of step names"],
      ['after holding a non-string', () => { class B { @Step() a() {} @Step({ after: ['a', 1 as never] }) b() {} } return B; }, "B.b: 'after' must be an array of step names"],
      ['attempts that are not an integer', () => { class C { @Step({ retry: { attempts: 1.5 } }) a() {} } return C; }, 'C.a: retry.attempts must be an integer >= 1, got 1.5'],
      ['no attempts at all', () => { class D { @Step({ retry: { attempts: 0 } }) a() {} } return D; }, 'D.a: retry.attempts must be an integer >= 1, got 0'],
      ['a negative delay', () => { class E { @Step({ retry: { delayMs: -1 } }) a() {} } return E; }, 'E.a: retry.delayMs must be a number >= 0, got -1'],
      ['a delay that is not a number', () => { class F { @Step({ retry: { maxDelayMs: '5' as never } }) a() {} } return F; }, 'F.a: retry.maxDelayMs must be a number >= 0, got 5'],
      ['a backoff under 1', () => { class G { @Step({ retry: { backoff: 0.99 } }) a() {} } return G; }, 'G.a: retry.backoff must be a number >= 1, got 0.99'],
      ['a backoff that is not a number', () => { class H { @Step({ retry: { backoff: '2' as never } }) a() {} } return H; }, 'H.a: retry.backoff must be a number >= 1, got 2'],
      ['retryIf that is not a function', () => { class I { @Step({ retry: { retryIf: true as never } }) a() {} } return I; }, 'I.a: retry.retryIf must be a function'],
      ['a zero timeout', () => { class J { @Step({ timeoutMs: 0 }) a() {} } return J; }, 'J.a: timeoutMs must be a number > 0, got 0'],
      ['a timeout that is not a number', () => { class K { @Step({ timeoutMs: '9' as never }) a() {} } return K; }, 'K.a: timeoutMs must be a number > 0, got 9'],
      // @ts-expect-error: the compiler refuses it too (the class has no method 'zz')
      ['an unknown dependency, listing the steps', () => { class L { @Step() a() {} @Step() b() {} @Step({ after: ['zz'] }) c() {} } return L; }, "L.c: 'after' names unknown step 'zz' (steps: a, b, c)"],
      ['a self-dependency', () => { class M { @Step() a() {} @Step({ after: ['a', 'b'] }) b() {} } return M; }, "M.b: step lists itself in 'after'"],
      ['a cycle, drawn from where it closes', () => { class N { @Step({ after: [] }) r() {} @Step({ after: ['r', 'z'] }) x() {} @Step({ after: ['x'] }) y() {} @Step({ after: ['y'] }) z() {} } return N; }, "N.x: cycle in 'after': x -> z -> y -> x"],
      ['a cycle below the step the walk began at, drawn without that step', () => { class S { @Step({ after: ['x'] }) s() {} @Step({ after: ['y'] }) x() {} @Step({ after: ['x'] }) y() {} } return S; }, "S.x: cycle in 'after': x -> y -> x"],
      ['a step on something that is not a method', () => { class P { @Step() a() {} } Step()(P.prototype, 'notAMethod'); return P; }, 'P.notAMethod: @Step() must decorate a method'],
      ['a class without steps', () => { class O { a() {} } return O; }, 'O: has no @Step() methods'],
      ['an anonymous class', () => (class { a() {} }), '(anonymous class): has no @Step() methods'],
    ];
    for (const [what, make, message] of cases) {
      it(what, () => {
        const error = definitionError(() => buildGraph(make()));
        expect(error.code).to.equal('WAYMARK_DEFINITION');
        expect(error.message.startsWith(message), error.message).to.equal(true);
      });
    }

    it('accepts the limits themselves', () => {
      class Limits {
        @Step({ name: 'x'.repeat(100), retry: { attempts: 1, delayMs: 0, maxDelayMs: 0, backoff: 1, retryIf: () => true }, timeoutMs: 0.5 }) a() {}
        @Step({ name: 'tab\u0020 and ~', after: ['x'.repeat(100), 'x'.repeat(100)] }) b() {}
      }
      const graph = buildGraph(Limits);
      expect(graph.steps[0].retry).to.include({ attempts: 1, delayMs: 0, maxDelayMs: 0, backoff: 1 });
      expect(graph.steps[0].timeoutMs).to.equal(0.5);
      expect(graph.steps[1].after, 'a repeated dependency counts once').to.deep.equal(['x'.repeat(100)]);
      expect(graph.steps.map((s) => s.index)).to.deep.equal([0, 1]);
      expect(buildGraph(Limits)).to.equal(graph);
    });

    it('keeps the step options it validated', () => {
      const retryIf = () => false;
      class Kept {
        @Step({ retry: { attempts: 3, delayMs: 5, maxDelayMs: 50, backoff: 2, retryIf }, timeoutMs: 100 }) a() {}
        @Step() b() {}
      }
      const [a, b] = buildGraph(Kept).steps;
      expect(a.retry).to.deep.equal({ attempts: 3, delayMs: 5, maxDelayMs: 50, backoff: 2, retryIf });
      expect(a.timeoutMs).to.equal(100);
      expect(b.retry).to.deep.equal({ attempts: 1 });
      expect(b.timeoutMs).to.equal(undefined);
      expect(buildGraph(Kept).className).to.equal('Kept');
    });
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
    it('compares after as a set: the same dependencies in another order are no change', () => {
      class Join {
        @Step({ after: [] }) a() {}
        @Step({ after: [] }) b() {}
        @Step({ after: ['b', 'a'] }) c() {}
      }
      const join = buildGraph(Join);
      expect(definitionChanges([{ name: 'c', after: ['a', 'b'] }], join, ['c'])).to.deep.equal([]);
      expect(definitionChanges([{ name: 'c', after: ['b', 'a'] }], join, ['c'])).to.deep.equal([], 'the order of after does not matter');
      expect(definitionChanges([{ name: 'c', after: ['a'] }], join, ['c'])).to.deep.equal(["step 'c' was after [a], now after [b, a]"]);
      expect(definitionChanges([{ name: 'c', after: ['a', 'x'] }], join, ['c'])).to.deep.equal(["step 'c' was after [a, x], now after [b, a]"]);
      class Pair {
        @Step({ after: [] }) a() {}
        @Step({ after: [] }) b() {}
        @Step({ after: ['a', 'b'] }) c() {}
      }
      expect(definitionChanges([{ name: 'c', after: ['ab'] }], buildGraph(Pair), ['c']), 'not a joined string either').to.have.length(1);
      expect(definitionChanges([], join, ['c']), 'a step with no stored definition is not compared').to.deep.equal([]);
    });
    it('stores names and copies of after, nothing else', () => {
      const stored = storedSteps(graph);
      expect(stored).to.deep.equal([{ name: 'a', after: [] }, { name: 'b', after: ['a'] }, { name: 'c', after: ['b'] }]);
      expect(stored[1].after).to.not.equal(graph.steps[1].after);
    });
    it('round-trips through the stored form', () => {
      expect(definitionChanges(storedSteps(graph), graph, ['a', 'b', 'c'])).to.deep.equal([]);
    });
  });
});
