import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import * as atomicFile from '../../../lib/storage/file/atomic-file';
import { addWakeFile, dueWakeFiles, removeWakeFile } from '../../../lib/storage/file/wake-files';
import { wakeName } from '../../../lib/storage/record-format';
import { tempDir } from '../../helpers/temp-dir';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 2026-12-01T10:30:00Z: day 20423, hour 10. */
const NOW = Date.parse('2026-12-01T10:30:00.000Z');
const TODAY = String(Math.floor(NOW / DAY)).padStart(8, '0');

/** A name that looks like a due entry of workflow `id`. */
const dueName = (id: string, at = NOW - 1_000) => wakeName({ workflowId: id, wakeAt: at }, id);

describe('the file wake index', () => {
  let wakes: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    const dir = await tempDir();
    wakes = join(dir.path, 'wakes');
    remove = dir.remove;
  });
  afterEach(async () => {
    sinon.restore();
    await remove();
  });

  it('keeps each entry as an empty file under its day and hour; a time before 1970 goes to the first hour', async () => {
    await addWakeFile(wakes, { workflowId: 'inv 7', wakeAt: NOW });
    await addWakeFile(wakes, { workflowId: 'old', wakeAt: -5 });
    const path = join(wakes, TODAY, '10', wakeName({ workflowId: 'inv 7', wakeAt: NOW }, 'inv%207'));
    expect(statSync(path).size).to.equal(0);
    expect(readdirSync(join(wakes, '00000000', '00'))).to.deep.equal([wakeName({ workflowId: 'old', wakeAt: 0 }, 'old')]);
    await addWakeFile(wakes, { workflowId: 'inv 7', wakeAt: NOW });
    expect(readdirSync(join(wakes, TODAY, '10'))).to.have.length(1, 'adding an entry twice keeps one');
  });

  it('makes the hour directory again when a removal takes it away between making it and writing, a few times at most', async () => {
    const enoent = () => Object.assign(new Error('gone'), { code: 'ENOENT' });
    const write = sinon.stub(atomicFile, 'writeFileAtomic');
    write.onCall(0).rejects(enoent());
    write.onCall(1).rejects(enoent());
    write.callThrough();
    await addWakeFile(wakes, { workflowId: 'a', wakeAt: NOW });
    expect(write.callCount).to.equal(3);
    expect(existsSync(join(wakes, TODAY, '10', dueName('a', NOW)))).to.equal(true);
    write.reset();
    write.rejects(enoent());
    const error = await addWakeFile(wakes, { workflowId: 'b', wakeAt: NOW }).catch((e: unknown) => e);
    expect(error).to.have.property('code', 'ENOENT');
    expect(write.callCount).to.equal(6);
    write.reset();
    write.rejects(Object.assign(new Error('full'), { code: 'ENOSPC' }));
    expect(await addWakeFile(wakes, { workflowId: 'c', wakeAt: NOW }).catch((e: unknown) => e)).to.have.property('code', 'ENOSPC');
    expect(write.callCount).to.equal(1, 'other errors are not retried');
  });

  it('removes an entry, then its hour and day directories once empty, keeping those that still hold entries', async () => {
    const a = { workflowId: 'a', wakeAt: NOW };
    const b = { workflowId: 'b', wakeAt: NOW + 1 };
    const c = { workflowId: 'c', wakeAt: NOW + HOUR };
    for (const entry of [a, b, c]) await addWakeFile(wakes, entry);
    await removeWakeFile(wakes, a);
    expect(readdirSync(join(wakes, TODAY, '10'))).to.deep.equal([wakeName(b, 'b')]);
    await removeWakeFile(wakes, b);
    expect(readdirSync(join(wakes, TODAY))).to.deep.equal(['11']);
    await removeWakeFile(wakes, c);
    expect(readdirSync(wakes)).to.deep.equal([]);
    await removeWakeFile(wakes, c);
  });

  it('fails to remove an entry it cannot unlink, saying why', async () => {
    const entry = { workflowId: 'a', wakeAt: NOW };
    mkdirSync(join(wakes, TODAY, '10', wakeName(entry, 'a')), { recursive: true });
    const error = await removeWakeFile(wakes, entry).catch((e: unknown) => e);
    expect(error).to.have.property('code').that.is.oneOf(['EISDIR', 'EPERM']);
  });

  it("sweeps a dead writer's temp file from the hour of a removed entry, never a live one's", async () => {
    const entry = { workflowId: 'a', wakeAt: NOW };
    await addWakeFile(wakes, entry);
    await addWakeFile(wakes, { workflowId: 'b', wakeAt: NOW });
    const hour = join(wakes, TODAY, '10');
    const stale = join(hour, `${atomicFile.TEMP_PREFIX}elsewhere-1`);
    const fresh = join(hour, `${atomicFile.TEMP_PREFIX}elsewhere-2`);
    writeFileSync(stale, '');
    writeFileSync(fresh, '');
    const old = new Date(Date.now() - atomicFile.STALE_TEMP_MS - 60_000);
    utimesSync(stale, old, old);
    await removeWakeFile(wakes, entry);
    expect(readdirSync(hour).sort()).to.deep.equal([fresh.slice(hour.length + 1), dueName('b', NOW)].sort());
  });

  it("sweeps a dead writer's temp file from an hour it scans, never a live one's (nothing is ever removed from the hours of ended workflows)", async () => {
    await addWakeFile(wakes, { workflowId: 'a', wakeAt: NOW - 1_000 });
    const hour = join(wakes, TODAY, '10');
    const stale = join(hour, `${atomicFile.TEMP_PREFIX}elsewhere-1`);
    const live = join(hour, `${atomicFile.TEMP_PREFIX}${atomicFile.ownTempTag()}-2`);
    const later = join(wakes, TODAY, '11', `${atomicFile.TEMP_PREFIX}elsewhere-3`);
    mkdirSync(join(wakes, TODAY, '11'));
    for (const path of [stale, live, later]) writeFileSync(path, '');
    const old = new Date(Date.now() - atomicFile.STALE_TEMP_MS - 60_000);
    for (const path of [stale, later]) utimesSync(path, old, old);
    expect(await dueWakeFiles(wakes, NOW, 10)).to.deep.equal([{ workflowId: 'a', wakeAt: NOW - 1_000 }]);
    expect(readdirSync(hour).sort()).to.deep.equal([live.slice(hour.length + 1), dueName('a')].sort());
    expect(existsSync(later), 'an hour not yet begun is not read').to.equal(true);
  });

  describe('the due scan', () => {
    /** Writes an entry file straight into a day and hour directory, wherever its time says it belongs. */
    function place(day: string, hour: string, name: string): void {
      mkdirSync(join(wakes, day, hour), { recursive: true });
      writeFileSync(join(wakes, day, hour, name), '');
    }

    it('returns entries due at now, earliest first across days and hours, up to the limit', async () => {
      // Many days, many hours of one day, many entries of one hour: no listing comes back sorted by chance.
      const days = Array.from({ length: 12 }, (_, i) => NOW - (40 - 3 * i) * DAY + 5 * HOUR);
      const hours = Array.from({ length: 12 }, (_, i) => NOW - 2 * DAY + (i - 10) * HOUR);
      const entries = Array.from({ length: 12 }, (_, i) => NOW - 3 * HOUR + 1_000 * i);
      const times = [...days, ...hours, NOW - DAY - 1, NOW - DAY + 12 * HOUR, ...entries, NOW - 2, NOW - 1, NOW];
      // Added latest first, so that no directory lists them in order by chance.
      for (const [i, wakeAt] of [...times.entries()].reverse()) await addWakeFile(wakes, { workflowId: `w${i}`, wakeAt });
      await addWakeFile(wakes, { workflowId: 'later', wakeAt: NOW + 1 });
      expect(await dueWakeFiles(wakes, NOW, 100)).to.deep.equal(times.map((wakeAt, i) => ({ workflowId: `w${i}`, wakeAt })));
      expect((await dueWakeFiles(wakes, NOW, 3)).map((e) => e.workflowId)).to.deep.equal(['w0', 'w1', 'w2']);
      const dayBefore = times.filter((t) => t <= NOW - DAY).length;
      expect(await dueWakeFiles(wakes, NOW - DAY, 100)).to.deep.equal(times.slice(0, dayBefore).map((wakeAt, i) => ({ workflowId: `w${i}`, wakeAt })));
      expect((await dueWakeFiles(wakes, NOW - 1, 100)).map((e) => e.workflowId)).to.include(`w${dayBefore}`, 'a past day is read to its end, past the hour of now');
    });

    it('never reads days or hours that have not begun, nor names that are not days, hours or entries', async () => {
      // Each of these holds a name that would be due if it were read.
      const tomorrow = String(Number(TODAY) + 1).padStart(8, '0');
      place(tomorrow, '00', dueName('tomorrow'));
      place(TODAY, '11', dueName('next-hour'));
      place('-' + TODAY.slice(1), '00', dueName('not-a-day-1'));
      place(TODAY.slice(0, 7), '00', dueName('not-a-day-2'));
      place('0' + TODAY, '00', dueName('not-a-day-3'));
      place(TODAY, '-1', dueName('not-an-hour-1'));
      place(TODAY, '0', dueName('not-an-hour-2'));
      place(TODAY, '000', dueName('not-an-hour-3'));
      place(TODAY, '10', 'not-an-entry');
      place(TODAY, '10', `${atomicFile.TEMP_PREFIX}writer-1`);
      place(TODAY, '10', dueName('Not_Encoded'));
      place(TODAY, '10', dueName('due'));
      expect(await dueWakeFiles(wakes, NOW, 100)).to.deep.equal([{ workflowId: 'due', wakeAt: NOW - 1_000 }]);
    });

    it('finds nothing in an index that was never written', async () => {
      expect(await dueWakeFiles(wakes, NOW, 10)).to.deep.equal([]);
    });
  });
});
