import { expect } from 'chai';
import 'reflect-metadata';
import { Fingerprint, OnInputChange, Step, Workflow } from '../../decorators';
import { InvalidFingerprintPathError, InvalidInputChangePolicyError, InvalidOptionError } from '../../lib/errors';

class Db {}


describe('decorators', () => {
  it('record metadata only: the class and its methods stay what they were', () => {
    @Workflow({ name: 'plain' })
    class Plain {
      @Step() load(ctx: unknown) {
        return ['original-body', ctx];
      }
    }
    expect(Object.getPrototypeOf(Plain)).to.equal(Function.prototype, 'not replaced by a subclass');
    expect(Plain.name).to.equal('Plain');
    expect(Plain.prototype.load.toString()).to.contain('original-body');
    expect(new Plain().load(7)).to.deep.equal(['original-body', 7]);
  });

  it('keep design:paramtypes for DI containers, in any decorator order', () => {
    @Workflow({ name: 'di' })
    @OnInputChange('reset')
    @Fingerprint({ exclude: ['requestId'] })
    class Injected {
      constructor(readonly db: Db, readonly name: string) {}
      @Step() run() {}
    }
    @Fingerprint({ exclude: ['requestId'] })
    @OnInputChange('reset')
    @Workflow({ name: 'di2' })
    class Reordered {
      constructor(readonly db: Db) {}
      @Step() run() {}
    }
    expect(Reflect.getMetadata('design:paramtypes', Injected)).to.deep.equal([Db, String]);
    expect(Reflect.getMetadata('design:paramtypes', Reordered)).to.deep.equal([Db]);
    expect(new Injected(new Db(), 'n')).to.be.instanceOf(Injected);
  });

  it('@OnInputChange rejects an invalid policy at decoration, naming the class and the valid ones', () => {
    expect(() => {
      @OnInputChange('restart' as never)
      class Broken {
        @Step() a() {}
      }
      return Broken;
    })
      .to.throw(InvalidInputChangePolicyError, "'reuse', 'reset', 'raise'")
      .with.property('message')
      .that.contains('Broken');
  });

  it('@Fingerprint rejects malformed paths and non-strategies at decoration', () => {
    expect(() => Fingerprint({ exclude: ['a..b'] })(class A {})).to.throw(InvalidFingerprintPathError);
    expect(() => Fingerprint(42 as never)(class B {})).to.throw(InvalidOptionError);
  });
});
