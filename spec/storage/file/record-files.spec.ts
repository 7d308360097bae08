import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecordRevision, readCurrentRecord } from '../../../lib/storage/file/record-files';

describe('record revision files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'waymark-records-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const names = () => readdirSync(dir).sort();

  it('reads nothing from a missing or empty directory', async () => {
    expect(await readCurrentRecord(join(dir, 'missing'))).to.equal(undefined);
    expect(await readCurrentRecord(dir)).to.equal(undefined);
    writeFileSync(join(dir, 'record.x.json'), 'not a revision');
    writeFileSync(join(dir, 'record.1.json.tmp'), 'not a revision');
    expect(await readCurrentRecord(dir)).to.equal(undefined);
  });

  it('reads the highest revision, comparing numbers, not text', async () => {
    for (const n of [2, 9, 10]) writeFileSync(join(dir, `record.${n}.json`), `r${n}`);
    writeFileSync(join(dir, 'record.json'), 'legacy');
    expect(await readCurrentRecord(dir)).to.deep.equal({ path: join(dir, 'record.10.json'), text: 'r10' });
  });

  it("reads a 0.1 record.json when there is no revision, and revision 0 over it", async () => {
    writeFileSync(join(dir, 'record.json'), 'legacy');
    expect(await readCurrentRecord(dir)).to.deep.equal({ path: join(dir, 'record.json'), text: 'legacy' });
    writeFileSync(join(dir, 'record.0.json'), 'r0');
    expect((await readCurrentRecord(dir))?.text).to.equal('r0');
  });

  it('passes on a read error that is not a replaced file', async () => {
    mkdirSync(join(dir, 'record.3.json'));
    try {
      await readCurrentRecord(dir);
      expect.fail('read a directory');
    } catch (error) {
      expect(error).to.have.property('code', 'EISDIR');
    }
  });

  it('creates each revision once, and removes the older ones and a 0.1 record when it does', async () => {
    expect(await createRecordRevision(dir, 1, 'one')).to.equal(true);
    expect(names()).to.deep.equal(['record.1.json']);
    expect(await createRecordRevision(dir, 1, 'again')).to.equal(false);
    expect((await readCurrentRecord(dir))?.text).to.equal('one');
    writeFileSync(join(dir, 'record.json'), 'legacy');
    expect(await createRecordRevision(dir, 2, 'two')).to.equal(true);
    expect(names()).to.deep.equal(['record.2.json']);
    expect((await readCurrentRecord(dir))?.text).to.equal('two');
  });

  it('refuses revision 1 over a 0.1 record.json (its writer expected no record)', async () => {
    writeFileSync(join(dir, 'record.json'), 'legacy');
    expect(await createRecordRevision(dir, 1, 'one')).to.equal(false);
    expect(names()).to.deep.equal(['record.json']);
  });

  it('withdraws a revision created below a later one (a writer that expected a long-gone revision)', async () => {
    writeFileSync(join(dir, 'record.5.json'), 'five');
    expect(await createRecordRevision(dir, 3, 'stale')).to.equal(false);
    expect(names()).to.deep.equal(['record.5.json']);
    expect(await createRecordRevision(dir, 6, 'six')).to.equal(true);
    expect(names()).to.deep.equal(['record.6.json']);
  });

  it('keeps files that are not records', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'x');
    expect(await createRecordRevision(dir, 1, 'one')).to.equal(true);
    expect(await createRecordRevision(dir, 2, 'two')).to.equal(true);
    expect(names()).to.deep.equal(['notes.txt', 'record.2.json']);
  });
});
