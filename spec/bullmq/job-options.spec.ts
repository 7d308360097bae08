import { expect } from 'chai';
import { DEFAULT_JOB_OPTIONS, resolveJobOptions } from '../../lib/bullmq/job-options';
import { InvalidOptionError } from '../../lib/errors';

describe('bullmq job options', () => {
  it('defaults to 3 attempts, exponential backoff from 1 s, and the last 1,000 completed and 10,000 failed jobs', () => {
    expect(resolveJobOptions(undefined, 'jobOptions')).to.deep.equal({ ...DEFAULT_JOB_OPTIONS });
    expect(resolveJobOptions({ attempts: undefined }, 'jobOptions')).to.deep.equal({ ...DEFAULT_JOB_OPTIONS });
  });

  it('takes the edges of what works', () => {
    expect(resolveJobOptions({ attempts: 1, backoff: 0, removeOnComplete: 0, removeOnFail: false }, 'j')).to.deep.equal({ attempts: 1, backoff: 0, removeOnComplete: 0, removeOnFail: false });
    expect(resolveJobOptions({ backoff: { type: 'fixed', delay: 0 }, removeOnComplete: true }, 'j')).to.include({ removeOnComplete: true });
    expect(resolveJobOptions({ backoff: { type: 'exponential' } }, 'j').backoff).to.deep.equal({ type: 'exponential' });
  });

  const refused: [string, unknown, string][] = [
    ['options that are not an object', 5, 'j'],
    ['null options', null, 'j'],
    ['no attempt', { attempts: 0 }, 'j.attempts'],
    ['a fraction of an attempt', { attempts: 1.5 }, 'j.attempts'],
    ['a negative backoff', { backoff: -1 }, 'j.backoff'],
    ['an endless backoff', { backoff: Infinity }, 'j.backoff'],
    ['a backoff without type', { backoff: { delay: 5 } }, 'j.backoff'],
    ['a backoff with a negative delay', { backoff: { type: 'fixed', delay: -1 } }, 'j.backoff'],
    ['a backoff of null', { backoff: null }, 'j.backoff'],
    ['a negative count kept', { removeOnComplete: -1 }, 'j.removeOnComplete'],
    ['a fraction of a job kept', { removeOnFail: 0.5 }, 'j.removeOnFail'],
    ['a word for jobs kept', { removeOnFail: 'all' }, 'j.removeOnFail'],
  ];
  for (const [what, options, option] of refused) {
    it(`refuses ${what}, naming the option`, () => {
      expect(() => resolveJobOptions(options as never, 'j'))
        .to.throw(InvalidOptionError)
        .with.property('option', option);
    });
  }

  it('says what each refused option should be', () => {
    const message = (options: unknown) => {
      try {
        resolveJobOptions(options as never, 'j');
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    expect(message(5)).to.contain('{ attempts?, backoff?, removeOnComplete?, removeOnFail? }');
    expect(message({ attempts: 0 })).to.contain('an integer >= 1 (deliveries that may fail before the job fails for good)');
    expect(message({ backoff: -1 })).to.contain("a delay in ms >= 0 or { type: 'fixed' | 'exponential', delay }");
    expect(message({ removeOnFail: 'all' })).to.contain('true, false or a count of jobs to keep');
  });
});
