import { expect } from 'chai';
import { eventDedupId, parseJobData, startDedupId, timerDedupId } from '../../lib/bullmq/job-data';
import { InvalidOptionError } from '../../lib/errors';

describe('bullmq job data', () => {
  it('gives one start id per workflow and input, whatever the key order, and another for another input', () => {
    const a = startDedupId('wf-1', { a: 1, b: [1, 2] });
    expect(a).to.match(/^waymark\|start\|wf-1\|[0-9a-f]{32}$/);
    expect(startDedupId('wf-1', { b: [1, 2], a: 1 })).to.equal(a);
    expect(startDedupId('wf-1', { a: 2, b: [1, 2] })).to.not.equal(a);
    expect(startDedupId('wf-2', { a: 1, b: [1, 2] })).to.not.equal(a);
    // No input is one input, stored as null or left out.
    expect(startDedupId('wf-1', null)).to.equal(startDedupId('wf-1', undefined as never));
    expect(startDedupId('wf-1', null)).to.not.equal(startDedupId('wf-1', 'null'));
  });

  it('gives wake ids by workflow and time, and by workflow and event id', () => {
    expect(timerDedupId('wf-1', 1_700_000_000_000)).to.equal('waymark|timer|wf-1|1700000000000');
    expect(eventDedupId('wf-1', 'evt-9')).to.equal('waymark|event|wf-1|evt-9');
  });

  it("accepts each kind of waymark job's data", () => {
    const start = { waymark: 1, kind: 'start', workflowId: 'w', workflowName: 'n', input: null };
    expect(parseJobData('1', start)).to.equal(start);
    expect(parseJobData('2', { waymark: 1, kind: 'wake', workflowId: 'w' })).to.deep.equal({ waymark: 1, kind: 'wake', workflowId: 'w' });
    expect(parseJobData('3', { waymark: 1, kind: 'slot', workflowName: 'n', input: 1 })).to.deep.equal({ waymark: 1, kind: 'slot', workflowName: 'n', input: 1 });
  });

  const refused: [string, unknown, string, RegExp][] = [
    ['null', null, "data of job '7'", /expected a waymark job's data/],
    ['a string', 'text', "data of job '7'", /add jobs to this queue with WorkflowQueue/],
    ['another version', { waymark: 2, kind: 'wake', workflowId: 'w' }, "data of job '7'", /waymark: 1/],
    ['an unknown kind', { waymark: 1, kind: 'stop', workflowId: 'w' }, "data of job '7': kind", /'start', 'wake' or 'slot'/],
    ['a start without workflow id', { waymark: 1, kind: 'start', workflowName: 'n' }, "data of job '7': workflowId", /non-empty string/],
    ['a wake with an empty workflow id', { waymark: 1, kind: 'wake', workflowId: '' }, "data of job '7': workflowId", /non-empty string/],
    ['a start without workflow name', { waymark: 1, kind: 'start', workflowId: 'w' }, "data of job '7': workflowName", /non-empty string/],
    ['a slot with a numeric workflow name', { waymark: 1, kind: 'slot', workflowName: 5 }, "data of job '7': workflowName", /non-empty string/],
  ];
  for (const [what, data, option, message] of refused) {
    it(`refuses ${what}, naming the job and the field`, () => {
      let error: unknown;
      try {
        parseJobData('7', data);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(InvalidOptionError).with.property('option', option);
      expect((error as Error).message).to.match(message);
    });
  }

  it('names an unknown job id as ?', () => {
    expect(() => parseJobData(undefined, null)).to.throw(InvalidOptionError, "data of job '?'");
  });
});
