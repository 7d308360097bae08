import { expect } from 'chai';
import { CheckpointCorruptedError } from '../../lib/errors';
import { parseCheckpoint, parseEvent, parseRecordFile, parseRecordText, parseWakeName, sendOrder, wakeName, wakeNameBound } from '../../lib/storage/record-format';
import type { StoredEvent } from '../../lib/storage/records';

const checkpoint = { formatVersion: 1, step: 'load', status: 'completed', attempts: 2, committedAt: '2026-01-01T00:00:00.000Z', output: { json: 1 } };
const record = { formatVersion: 1, workflowId: 'wf', workflowName: 'Etl', fingerprint: 'f'.repeat(64), steps: [{ name: 'load', after: [] }], updatedAt: '2026-01-01T00:00:00.000Z' };
const completion = { runId: 'r1', completedAt: '2026-01-01T00:00:01.000Z', output: { json: null } };

/** The corruption `parse` reports, checked to name the workflow and the location. */
function corruption(parse: () => unknown): CheckpointCorruptedError {
  try {
    parse();
  } catch (error) {
    expect(error).to.be.instanceOf(CheckpointCorruptedError);
    const e = error as CheckpointCorruptedError;
    expect(e.workflowId).to.equal('wf');
    expect(e.location).to.equal('here/x.json');
    expect(e.message).to.contain("stored data at here/x.json is corrupted: ").and.contain("'waymark clear wf'");
    return e;
  }
  return expect.fail('accepted');
}

describe('stored record format', () => {
  describe('parseCheckpoint', () => {
    const parse = (value: unknown, step = 'load') => parseCheckpoint('wf', step, 'here/x.json', typeof value === 'string' ? value : JSON.stringify(value));

    it('returns a well-formed checkpoint as stored, an undefined output included', () => {
      expect(parse(checkpoint)).to.deep.equal(checkpoint);
      const { output: _, ...bare } = checkpoint;
      expect(parse({ ...bare, output: { undefined: true } }).output).to.deep.equal({ undefined: true });
    });

    it('says text that is not JSON is not JSON, keeping the parser error as the cause', () => {
      const e = corruption(() => parse('{"formatVersion": 1,'));
      expect(e.reason).to.match(/^not valid JSON \(.+\)$/);
      expect(e.cause).to.be.instanceOf(SyntaxError);
    });

    const shapes: [string, unknown][] = [
      ['null', null],
      ['an array', [checkpoint]],
      ['a number', 1],
      ['another format version', { ...checkpoint, formatVersion: 2 }],
      ['no format version', { ...checkpoint, formatVersion: undefined }],
      ['a status other than completed', { ...checkpoint, status: 'running' }],
      ['no output at all', Object.fromEntries(Object.entries(checkpoint).filter(([k]) => k !== 'output'))],
      ['attempts that are not a number', { ...checkpoint, attempts: '2' }],
    ];
    for (const [what, value] of shapes) {
      it(`refuses ${what}`, () => {
        expect(corruption(() => parse(value)).reason).to.equal('not a checkpoint (missing formatVersion, status, attempts or output)');
      });
    }

    it("refuses another step's checkpoint, naming both", () => {
      expect(corruption(() => parse(checkpoint, 'save')).reason).to.equal("holds step 'load', expected 'save'");
      expect(corruption(() => parse({ ...checkpoint, step: undefined }, 'load')).reason).to.equal("holds step 'undefined', expected 'load'");
    });
  });

  describe('parseRecordText', () => {
    const parse = (value: unknown) => parseRecordText('wf', 'here/x.json', typeof value === 'string' ? value : JSON.stringify(value));

    it('returns a well-formed record, with or without its completion', () => {
      expect(parse(record)).to.deep.equal(record);
      expect(parse({ ...record, completion })).to.deep.equal({ ...record, completion });
    });

    it('says text that is not JSON is not JSON', () => {
      expect(corruption(() => parse('')).reason).to.match(/^not valid JSON \(/);
    });

    const shapes: [string, unknown][] = [
      ['null', null],
      ['an array', [record]],
      ['a string', '"x"'],
      ['another format version', { ...record, formatVersion: 0 }],
      ['a fingerprint that is not a string', { ...record, fingerprint: 1 }],
      ['no fingerprint', { ...record, fingerprint: undefined }],
      ['steps that are not a list', { ...record, steps: {} }],
      ['no steps', { ...record, steps: undefined }],
    ];
    for (const [what, value] of shapes) {
      it(`refuses ${what}`, () => {
        expect(corruption(() => parse(value)).reason).to.equal('not a workflow record (missing formatVersion, fingerprint or steps)');
      });
    }

    const completions: [string, unknown][] = [
      ['null', null],
      ['a list', [completion]],
      ['a string', 'done'],
      ['no run id', { ...completion, runId: undefined }],
      ['a run id that is not a string', { ...completion, runId: 7 }],
      ['no completion time', { ...completion, completedAt: undefined }],
      ['a completion time that is not a string', { ...completion, completedAt: 0 }],
      ['no output', { runId: 'r1', completedAt: completion.completedAt }],
    ];
    for (const [what, value] of completions) {
      it(`refuses a completion that is ${what}`, () => {
        expect(corruption(() => parse({ ...record, completion: value })).reason).to.equal('its completion is not { runId, completedAt, output }');
      });
    }

    it('returns a record with each status a workflow can have, and refuses any other', () => {
      for (const status of ['running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated']) expect(parse({ ...record, status }).status).to.equal(status);
      expect(corruption(() => parse({ ...record, status: 'paused' })).reason).to.equal('its status "paused" is not one of running, waiting, completed, failed, cancelled, compensating, compensated');
      expect(corruption(() => parse({ ...record, status: null })).reason).to.contain('its status null');
    });

    it('refuses a compensation that is not { startedAt, cause, done }', () => {
      const compensation = { startedAt: 'x', cause: { code: 'C', message: 'm' }, done: {} };
      expect(parse({ ...record, status: 'compensating', compensation }).compensation).to.deep.equal(compensation);
      for (const bad of [null, 'x', { ...compensation, startedAt: 1 }, { ...compensation, cause: 'c' }, { startedAt: 'x', cause: {} }]) {
        expect(corruption(() => parse({ ...record, compensation: bad })).reason, JSON.stringify(bad)).to.equal('its compensation is not { startedAt, cause, done }');
      }
    });
  });

  describe('parseRecordText: what a resume decides by', () => {
    const parse = (value: unknown) => parseRecordText('wf', 'here/x.json', JSON.stringify(value));

    it('returns the branches taken and the calls due later, and refuses any other shape of them', () => {
      const poll = { next: '2026-12-05T10:00:00.000Z', count: 2, since: '2026-12-05T09:00:00.000Z' };
      const good = { ...record, branches: { approve: true }, polls: { track: poll, send: { ...poll, count: 0, attempts: 3 }, last: { ...poll, last: true } } };
      expect(parse(good)).to.deep.equal(good);
      for (const branches of [null, [], { approve: false }, { approve: 'yes' }]) {
        expect(corruption(() => parse({ ...record, branches })).reason, JSON.stringify(branches)).to.equal('its branches are not { <step>: true }');
      }
      const badPolls = [null, [], { track: null }, { track: { ...poll, next: 'soon' } }, { track: { ...poll, since: 5 } }, { track: { ...poll, count: -1 } }, { track: { ...poll, count: 1.5 } }, { track: { ...poll, attempts: 'two' } }, { track: { ...poll, last: false } }];
      for (const polls of badPolls) {
        expect(corruption(() => parse({ ...record, polls })).reason, JSON.stringify(polls)).to.contain('its polls are not');
      }
    });

    it('returns the version a run is pinned to and where its steps are stored, and refuses any other shape of them', () => {
      const good = { ...record, version: 3, stepKeys: { pay: 'charge', ship: 'ship\u001e1' } };
      expect(parse(good)).to.deep.equal(good);
      for (const version of [0, 1.5, '2', null]) expect(corruption(() => parse({ ...record, version })).reason, JSON.stringify(version)).to.contain('is not an integer >= 1');
      for (const stepKeys of [null, [], { pay: 5 }, { pay: '' }]) expect(corruption(() => parse({ ...record, stepKeys })).reason, JSON.stringify(stepKeys)).to.equal('its stepKeys are not { <step>: <stored name> }');
    });
  });

  describe('parseRecordFile', () => {
    const parse = (value: unknown) => parseRecordFile('wf', 'here/x.json', typeof value === 'string' ? value : JSON.stringify(value));

    it('returns the revision and the record', () => {
      expect(parse({ revision: 4, record })).to.deep.equal({ revision: 4, record });
    });

    it('refuses a file without a numeric revision, and a bad record inside a good file', () => {
      for (const value of [null, [], { record }, { revision: '4', record }]) {
        expect(corruption(() => parse(value)).reason).to.equal('not a record file (missing revision)');
      }
      expect(corruption(() => parse({ revision: 1, record: { ...record, steps: null } })).reason).to.equal('not a workflow record (missing formatVersion, fingerprint or steps)');
      expect(corruption(() => parse('nope')).reason).to.match(/^not valid JSON \(/);
    });
  });

  describe('events', () => {
    const event = (eventId: string, sentAt: string): StoredEvent => ({ formatVersion: 1, eventId, name: 'go', payload: null, sentAt }) as StoredEvent;

    it('parses a stored event, and refuses anything missing a field, naming where', () => {
      const good = event('e1', '2026-12-01T00:00:00.000Z');
      expect(parseEvent('wf', 'events/e1', JSON.stringify(good))).to.deep.equal(good);
      for (const broken of [[], { ...good, formatVersion: 2 }, { ...good, eventId: 1 }, { ...good, name: null }, { ...good, sentAt: 5 }, { formatVersion: 1, eventId: 'e', name: 'go', sentAt: 'now' }]) {
        expect(() => parseEvent('wf', 'events/e1', JSON.stringify(broken)), JSON.stringify(broken)).to.throw(CheckpointCorruptedError, "stored data at events/e1 is corrupted: not an event (missing formatVersion, eventId, name, sentAt or payload)");
      }
    });

    it('orders events by send time, then by id', () => {
      const events = [event('b', 'T2'), event('c', 'T1'), event('a', 'T2'), event('a', 'T1'), event('b', 'T1')];
      expect(events.sort(sendOrder).map((e) => `${e.sentAt}/${e.eventId}`)).to.deep.equal(['T1/a', 'T1/b', 'T1/c', 'T2/a', 'T2/b']);
      expect(sendOrder(event('a', 'T1'), event('a', 'T1'))).to.equal(0);
      expect(sendOrder(event('b', 'T1'), event('a', 'T1'))).to.equal(1);
      expect(sendOrder(event('a', 'T2'), event('b', 'T1'))).to.equal(1);
    });
  });

  describe('wake names', () => {
    it('round-trip, sort by time, and anything else is not a wake name', () => {
      expect(wakeName({ workflowId: 'x', wakeAt: 1_700_000_000_123.7 }, 'x')).to.equal('0001700000000123~x');
      expect(wakeName({ workflowId: 'x', wakeAt: -5 }, 'x')).to.equal('0000000000000000~x');
      expect(parseWakeName('0001700000000123~inv%207')).to.deep.equal({ wakeAt: 1_700_000_000_123, encodedId: 'inv%207' });
      for (const name of ['x0001700000000123~a', '0001700000000123~', '001700000000123~a', '.tmp-0001700000000123~a']) expect(parseWakeName(name), name).to.equal(undefined);
      expect(wakeName({ workflowId: 'x', wakeAt: 5 }, 'zzz') < wakeNameBound(5)).to.equal(true);
      expect(wakeName({ workflowId: 'x', wakeAt: 6 }, 'a') > wakeNameBound(5)).to.equal(true);
      expect(wakeNameBound(-1)).to.equal('0000000000000000~\uffff');
    });
  });
});
