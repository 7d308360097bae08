import { expect } from 'chai';
import { StepMethods } from '../../lib/runner/step-methods';

describe('StepMethods', () => {
  class Base {
    inherited() {
      return 'base';
    }
    get viaGetter() {
      return this;
    }
  }
  class Flow extends Base {
    own() {
      return 'flow';
    }
    override inherited() {
      return 'flow';
    }
  }

  it('reads a method declared on the class or inherited, the nearest declaration first', () => {
    const flow = new Flow();
    const methods = new StepMethods(flow);
    expect(methods.get('own')).to.equal(Flow.prototype.own);
    expect(methods.get('inherited')).to.equal(Flow.prototype.inherited);
    expect(methods.get('missing')).to.equal(undefined);
  });

  it("reads the instance's own property first (a stubbed step), and a getter with the instance as this", () => {
    const flow = new Flow();
    const stub = () => 'stub';
    Object.defineProperty(flow, 'own', { value: stub });
    const methods = new StepMethods(flow);
    expect(methods.get('own')).to.equal(stub);
    expect(methods.get('viaGetter')).to.equal(flow);
  });

  it('reads symbol keys and objects without a prototype', () => {
    const key = Symbol('step');
    const bare = Object.create(null) as Record<symbol | string, unknown>;
    bare[key] = 1;
    bare.name = 2;
    const methods = new StepMethods(bare);
    expect(methods.get(key)).to.equal(1);
    expect(methods.get('name')).to.equal(2);
    expect(methods.get('other')).to.equal(undefined);
  });

  it("goes through a Proxy's get trap, as `workflow[name]` does", () => {
    const replaced = () => 'trap';
    const proxy = new Proxy(new Flow(), { get: (target, key, receiver) => (key === 'own' ? replaced : Reflect.get(target, key, receiver)) });
    const methods = new StepMethods(proxy);
    expect(methods.get('own')).to.equal(replaced);
    expect(methods.get('inherited')).to.equal(Flow.prototype.inherited);
  });

  it('finds each of 10,000 methods of a generated class, as a keyed read would', () => {
    class Many {}
    for (let i = 0; i < 10_000; i++) Object.defineProperty(Many.prototype, `s${i}`, { value: () => i });
    const many = new Many();
    const methods = new StepMethods(many);
    for (let i = 0; i < 10_000; i += 997) expect((methods.get(`s${i}`) as () => number)()).to.equal(i);
    Object.defineProperty(many, 's5', { value: () => -5 });
    expect((new StepMethods(many).get('s5') as () => number)()).to.equal(-5);
  });
});
