/** How a failure is stored: its code, message and step, and its stack with its causes, bounded. */
import { expect } from 'chai';
import { StepFailedError } from '../../lib/errors';
import { MAX_STACK_CHARS, stackText, storedError } from '../../lib/runner/stored-outcome';

describe('stored failures', () => {
  it('keep the stack of the step’s own error, with each cause after it', () => {
    const root = new Error('socket hang up');
    const error = Object.assign(new Error('payment failed', { cause: root }), { code: 'PAYMENT_DOWN' });
    const stored = storedError(new StepFailedError('wf', 'charge', 3, error));
    expect(stored).to.deep.include({ code: 'PAYMENT_DOWN', message: 'payment failed', step: 'charge', attempts: 3 });
    expect(stored.stack).to.match(/^Error: payment failed\n\s+at .*stored-outcome\.spec\.ts/);
    expect(stored.stack).to.contain('\nCaused by: Error: socket hang up\n');
  });

  it('cut a stack past the bound and say how much was left, and keep none for a value without one', () => {
    const long = new Error('x'.repeat(MAX_STACK_CHARS * 2));
    const text = stackText(long)!;
    expect(text.length).to.be.lessThan(MAX_STACK_CHARS + 100);
    expect(text).to.match(/\n\.\.\. \(\d+ more characters\)$/);
    expect(stackText('a string')).to.equal(undefined);
    expect(storedError('a string')).to.deep.equal({ code: 'WAYMARK_RUN_FAILED', message: 'a string' });
    const looped = new Error('loop');
    (looped as { cause?: unknown }).cause = looped;
    expect(stackText(looped)!.match(/Caused by/g), 'a cause that loops is followed once').to.equal(null);
  });
});
