import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeadAtOnce, thisProcess } from '../../../lib/storage/file/process-identity';

/** Field 22 of /proc/<pid>/stat, read independently of the code under test. */
function startTime(pid: number | 'self'): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** A child that runs until killed and has announced itself (so its /proc entry is complete). */
async function longLived(file: string): Promise<ChildProcess> {
  const child = spawn(file, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

describe('process identity', () => {
  const me = thisProcess();
  let dir: string;
  let script: string;
  const children: ChildProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'waymark-identity-'));
    // The kernel names a script's process after the file: a name with ') (' and spaces is what
    // /proc/<pid>/stat parsing must survive.
    script = join(dir, 'x) (y z');
    writeFileSync(script, '#!/bin/sh\necho up\nread line\n'); // waits on its stdin, as itself (no exec)
    chmodSync(script, 0o755);
  });
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is the host, boot, pid namespace, pid and start time of this process, read once', () => {
    expect(me).to.deep.equal({
      host: hostname(),
      pid: process.pid,
      boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      pidns: readlinkSync('/proc/self/ns/pid'),
      started: startTime('self'),
    });
    expect(me.started).to.match(/^\d+$/);
    expect(thisProcess()).to.equal(me);
  });

  it('judges nothing dead that it cannot check: no pid, another host, boot or pid namespace, no start time', async () => {
    const { pid: _, ...noPid } = me;
    expect(await isDeadAtOnce(noPid)).to.equal(false);
    const gone = 2 ** 22 + 1; // above pid_max: no such process
    expect(await isDeadAtOnce({ ...me, pid: gone, host: `${me.host}-other` })).to.equal(false);
    expect(await isDeadAtOnce({ ...me, pid: gone, boot: 'another-boot' })).to.equal(false);
    expect(await isDeadAtOnce({ ...me, pid: gone, pidns: 'pid:[1]' })).to.equal(false);
    expect(await isDeadAtOnce({ ...me, pid: gone, started: undefined })).to.equal(false);
    expect(await isDeadAtOnce({ ...me, pid: String(gone) as never })).to.equal(false);
  });

  it('judges a gone pid on this host, boot and namespace dead', async () => {
    expect(await isDeadAtOnce({ ...me, pid: 2 ** 22 + 1 })).to.equal(true);
    const child = spawn(process.execPath, ['-e', '0']);
    await once(child, 'exit');
    expect(await isDeadAtOnce({ ...me, pid: child.pid!, started: '1' })).to.equal(true);
  });

  it('judges this very pid alive when its start time matches, dead when it does not (a reused pid)', async () => {
    expect(await isDeadAtOnce(me)).to.equal(false);
    expect(await isDeadAtOnce({ ...me, started: String(Number(me.started) + 1) })).to.equal(true);
  });

  it("judges another live pid alive only while its start time matches, reading it past a command name's parentheses", async () => {
    const child = await longLived(script);
    children.push(child);
    const started = startTime(child.pid!);
    expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8')).to.contain('(x) (y z)');
    expect(await isDeadAtOnce({ ...me, pid: child.pid!, started })).to.equal(false);
    expect(await isDeadAtOnce({ ...me, pid: child.pid!, started: String(Number(started) - 1) })).to.equal(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await isDeadAtOnce({ ...me, pid: child.pid!, started })).to.equal(true);
  });

  it('judges a pid it may not signal (EPERM) alive', async () => {
    // pid 1 belongs to root: a process of another user gets EPERM; root itself may signal it, and
    // its start time decides.
    expect(await isDeadAtOnce({ ...me, pid: 1, started: startTime(1) })).to.equal(false);
  });
});
