import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { TEMP_PREFIX, ownTempTag } from '../../../lib/storage/file/atomic-file';
import { FileLock } from '../../../lib/storage/file/file-lock';
import { thisProcess } from '../../../lib/storage/file/process-identity';
import type { Lease } from '../../../lib/storage/records';

describe('FileLock', () => {
  let root: string;
  let locks: FileLock;
  let clock: sinon.SinonFakeTimers;
  const dir = () => join(root, 'wf');
  const names = () => readdirSync(dir()).sort();
  const lockFile = (g: number) => JSON.parse(readFileSync(join(dir(), `${g}.lock`), 'utf8'));
  /** A lock file as another process would have written it. */
  const plant = (g: number, lock: object) => {
    mkdirSync(dir(), { recursive: true });
    writeFileSync(join(dir(), `${g}.lock`), JSON.stringify({ ...thisProcess(), workflowId: 'wf', owner: 'other', token: `${g}.x`, ...lock }));
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'waymark-lock-'));
    locks = new FileLock((id) => join(root, id));
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
  });
  afterEach(() => {
    clock.restore();
    rmSync(root, { recursive: true, force: true });
  });

  async function take(owner = 'me', ttlMs = 1_000): Promise<Lease> {
    const { attempt, tookOver } = await locks.acquire('wf', owner, ttlMs);
    if (!attempt.acquired) return expect.fail(`held by ${attempt.holder}`);
    expect(tookOver).to.equal(false);
    return attempt.lease;
  }

  it('takes a free lease as generation 1, writing who holds it until when', async () => {
    const lease = await take('me', 5_000);
    expect(lease).to.include({ workflowId: 'wf', owner: 'me', expiresAt: 1_005_000 });
    expect(lease.token).to.match(/^1\.[0-9a-f-]{36}$/);
    expect(names()).to.deep.equal(['1.lock']);
    expect(lockFile(1)).to.deep.equal({ ...thisProcess(), workflowId: 'wf', owner: 'me', token: lease.token, expiresAt: 1_005_000 });
  });

  it('refuses a live lease, naming its holder and expiry', async () => {
    await take('first', 5_000);
    const { attempt, tookOver } = await locks.acquire('wf', 'second', 5_000);
    expect(attempt).to.deep.equal({ acquired: false, holder: 'first', expiresAt: 1_005_000 });
    expect(tookOver).to.equal(false);
  });

  it('takes over a lease once it expired, not a millisecond before, as the next generation', async () => {
    await take('first', 5_000);
    clock.tick(4_999);
    expect((await locks.acquire('wf', 'second', 5_000)).attempt.acquired).to.equal(false);
    clock.tick(1);
    const { attempt, tookOver } = await locks.acquire('wf', 'second', 5_000);
    expect(attempt.acquired && attempt.lease.token).to.match(/^2\./);
    expect(tookOver).to.equal(true);
    expect(names()).to.deep.equal(['2.lock']);
  });

  it('takes over at once the live lease of an owner that provably died', async () => {
    await take();
    plant(2, { pid: 2 ** 22 + 1, expiresAt: 9_999_999 });
    const { attempt, tookOver } = await locks.acquire('wf', 'me', 1_000);
    expect(attempt.acquired && attempt.lease.token).to.match(/^3\./);
    expect(tookOver).to.equal(true);
    expect(names()).to.deep.equal(['3.lock']);
  });

  it('never takes over a live lease whose owner it cannot judge', async () => {
    plant(1, { host: 'elsewhere', pid: 2 ** 22 + 1, expiresAt: 9_999_999 });
    expect((await locks.acquire('wf', 'me', 1_000)).attempt).to.deep.equal({ acquired: false, holder: 'other', expiresAt: 9_999_999 });
  });

  it('treats an unreadable lock as stale: garbage, or a lock without token or expiry', async () => {
    for (const text of ['{not json', JSON.stringify({ token: 1, expiresAt: 9_999_999 }), JSON.stringify({ token: '1.x', expiresAt: '9999999' })]) {
      rmSync(dir(), { recursive: true, force: true });
      await take();
      writeFileSync(join(dir(), '5.lock'), text);
      const { attempt, tookOver } = await locks.acquire('wf', 'me', 1_000);
      expect(attempt.acquired && attempt.lease.token, text).to.match(/^6\./);
      expect(tookOver).to.equal(true);
      expect(names()).to.deep.equal(['6.lock']);
    }
  });

  it('orders generations by number and ignores names that are not locks', async () => {
    plant(9, { expiresAt: 0 });
    plant(10, { owner: 'ten', expiresAt: 9_999_999 });
    writeFileSync(join(dir(), '11.lock.bak'), 'x');
    writeFileSync(join(dir(), 'a.lock'), 'x');
    writeFileSync(join(dir(), 'old-99.lock'), 'x');
    expect((await locks.acquire('wf', 'me', 1_000)).attempt).to.deep.equal({ acquired: false, holder: 'ten', expiresAt: 9_999_999 });
    expect(await locks.holder('wf')).to.deep.equal({ owner: 'ten', expiresAt: 9_999_999 });
  });

  it('keeps working past generation 9: renews, holds and releases generation 12', async () => {
    plant(11, { expiresAt: 0 });
    const lease = await locks.acquire('wf', 'me', 1_000);
    if (!lease.attempt.acquired) return expect.fail('not acquired');
    expect(lease.attempt.lease.token.startsWith('12.')).to.equal(true);
    expect(await locks.holds(lease.attempt.lease)).to.equal(true);
    expect(await locks.renew(lease.attempt.lease, 1_000)).to.not.equal(undefined);
    expect(await locks.holder('wf')).to.include({ owner: 'me' });
    expect(await locks.release(lease.attempt.lease)).to.equal(true);
    expect(await locks.holder('wf')).to.equal(undefined);
  });

  it("sweeps a dead writer's temp files when it acquires, not a live one's", async () => {
    await take();
    const [key] = ownTempTag().split('.');
    const dead = `${TEMP_PREFIX}${key}.${2 ** 22 + 1}.${thisProcess().started}-x`;
    const live = `${TEMP_PREFIX}${ownTempTag()}-y`;
    writeFileSync(join(dir(), dead), '');
    writeFileSync(join(dir(), live), '');
    await locks.acquire('wf', 'again', 1_000);
    expect(names()).to.deep.equal([live, '1.lock'].sort());
  });

  describe('holds', () => {
    it('while it is the current generation, with its token, before expiry', async () => {
      const lease = await take('me', 1_000);
      expect(await locks.holds(lease)).to.equal(true);
      expect(await locks.holds({ ...lease, token: '1.other' })).to.equal(false);
      clock.tick(999);
      expect(await locks.holds(lease)).to.equal(true);
      clock.tick(1);
      expect(await locks.holds(lease)).to.equal(false);
    });

    it('not once a later generation exists, nor when its file is gone', async () => {
      const lease = await take();
      plant(2, { expiresAt: 9_999_999 });
      expect(await locks.holds(lease)).to.equal(false);
      rmSync(dir(), { recursive: true });
      expect(await locks.holds(lease)).to.equal(false);
    });
  });

  describe('renew', () => {
    it('moves the expiry, keeping everything else of the lock', async () => {
      const lease = await take('me', 1_000);
      clock.tick(500);
      const renewed = await locks.renew(lease, 2_000);
      expect(renewed).to.deep.equal({ ...lease, expiresAt: 1_002_500 });
      expect(lockFile(1)).to.deep.equal({ ...thisProcess(), workflowId: 'wf', owner: 'me', token: lease.token, expiresAt: 1_002_500 });
      clock.tick(1_000);
      expect(await locks.holds(renewed!)).to.equal(true);
    });

    it('renews nothing it does not hold: another token, a later generation, no file', async () => {
      const lease = await take();
      expect(await locks.renew({ ...lease, token: '1.other' }, 1_000)).to.equal(undefined);
      expect(lockFile(1).expiresAt).to.equal(1_001_000);
      plant(2, { expiresAt: 9_999_999 });
      expect(await locks.renew(lease, 5_000)).to.equal(undefined);
      expect(lockFile(1).expiresAt).to.equal(1_001_000);
      rmSync(dir(), { recursive: true });
      expect(await locks.renew(lease, 5_000)).to.equal(undefined);
      expect(existsSync(dir())).to.equal(false);
    });
  });

  describe('release', () => {
    it('removes its lock and the emptied directory', async () => {
      const lease = await take();
      expect(await locks.release(lease)).to.equal(true);
      expect(existsSync(dir())).to.equal(false);
      expect(await locks.release(lease)).to.equal(false);
    });

    it('keeps the directory while something else is in it', async () => {
      const lease = await take();
      writeFileSync(join(dir(), `${TEMP_PREFIX}${ownTempTag()}-z`), '');
      expect(await locks.release(lease)).to.equal(true);
      expect(names()).to.deep.equal([`${TEMP_PREFIX}${ownTempTag()}-z`]);
    });

    it('releases nothing it does not hold', async () => {
      const lease = await take();
      expect(await locks.release({ ...lease, token: '1.other' })).to.equal(false);
      expect(names()).to.deep.equal(['1.lock']);
      expect(await locks.release({ ...lease, token: `2.${lease.token.slice(2)}` })).to.equal(false);
      expect(names()).to.deep.equal(['1.lock']);
    });
  });
});
