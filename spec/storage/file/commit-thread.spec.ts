import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sinon from 'sinon';
import { stepWrites } from '../../../lib/storage/file/commit-thread';
import { tempDir } from '../../helpers/temp-dir';
import { TS_REGISTER } from '../../helpers/child';

const ROOT = join(__dirname, '..', '..', '..');

/** Runs `code` in a child Node that loads TypeScript (TS_REGISTER), optionally under a command (strace); its exit code, stdout and stderr. */
function runChild(code: string, prefix: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const node = [process.execPath, '-r', TS_REGISTER, '-e', code];
  const [command, ...args] = [...prefix, ...node];
  return new Promise((resolve) => {
    execFile(command!, args, { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('commit threads (stepWrites)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir();
    await stepWrites.start();
  });
  afterEach(() => dir.remove());

  it('writes a file whole, resolving once it is in place, with no temp file left', async () => {
    const path = join(dir.path, 'a.json');
    const data = JSON.stringify({ text: 'é'.repeat(100_000) });
    await stepWrites.write(path, data);
    expect(readFileSync(path, 'utf8')).to.equal(data);
    await stepWrites.write(path, '{"again":true}');
    expect(readFileSync(path, 'utf8')).to.equal('{"again":true}');
    expect(await fs.readdir(dir.path)).to.deep.equal(['a.json']);
  });

  it('rejects with ENOENT (the syscall error, code kept) where the directory is gone, and leaves nothing behind', async () => {
    const error = await stepWrites.write(join(dir.path, 'gone', 'a.json'), '{}').then(
      () => expect.fail('resolved'),
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(error).to.be.instanceOf(Error).and.include({ code: 'ENOENT', syscall: 'open' });
    expect(await fs.readdir(dir.path)).to.deep.equal([]);
  });

  it('answers each of many writes at once on its own: each resolves only once its file is there, failures apart', async () => {
    const dirs = await Promise.all([0, 1, 2, 3].map(async (d) => (await fs.mkdir(join(dir.path, `d${d}`)), join(dir.path, `d${d}`))));
    const seen: string[] = [];
    const writes = Array.from({ length: 200 }, (_, i) => {
      const path = i % 50 === 7 ? join(dir.path, 'missing', `${i}.json`) : join(dirs[i % 4]!, `${i}.json`);
      return stepWrites.write(path, JSON.stringify({ i })).then(
        () => {
          expect(readFileSync(path, 'utf8'), `${path} is there when its write resolves`).to.equal(JSON.stringify({ i }));
          seen.push('ok');
        },
        (e: NodeJS.ErrnoException) => {
          expect(e.code).to.equal('ENOENT');
          expect(path).to.include('missing');
          seen.push('failed');
        },
      );
    });
    await Promise.all(writes);
    expect(seen.filter((s) => s === 'failed')).to.have.length(4);
    expect(seen).to.have.length(200);
    for (const d of dirs) expect((await fs.readdir(d)).filter((n) => n.startsWith('.tmp-'))).to.deep.equal([]);
  });

  it('a stopped thread fails the writes it held, and the next write starts a new one', async () => {
    const path = join(dir.path, 'a.json');
    const held = stepWrites.write(path, '{}').catch((e: unknown) => e);
    await stepWrites.stop();
    const outcome = await held;
    // The write either landed before the stop or failed for it: never resolved without its file.
    if (outcome instanceof Error) expect(outcome.message).to.match(/commit thread exited/);
    else expect(existsSync(path)).to.equal(true);
    expect(stepWrites.running).to.equal(false);
    await stepWrites.write(join(dir.path, 'b.json'), '{"b":1}');
    expect(readFileSync(join(dir.path, 'b.json'), 'utf8')).to.equal('{"b":1}');
    await stepWrites.start();
    expect(stepWrites.running).to.equal(true);
  });

  it('sends a lone write to the thread, and writes that overlap it the fs.promises way (where their fsyncs batch)', async () => {
    const renames = sinon.spy(fs, 'rename');
    try {
      await stepWrites.write(join(dir.path, 'alone.json'), '{}');
      expect(renames.callCount, 'the lone write went to the thread').to.equal(0);
      await Promise.all([0, 1, 2].map((i) => stepWrites.write(join(dir.path, `${i}.json`), `{"i":${i}}`)));
      expect(renames.callCount, 'the first of three went to the thread, the two that overlapped it did not').to.equal(2);
      expect(renames.args.map((a) => String(a[1]))).to.have.members([join(dir.path, '1.json'), join(dir.path, '2.json')]);
    } finally {
      renames.restore();
    }
    expect((await fs.readdir(dir.path)).sort()).to.deep.equal(['0.json', '1.json', '2.json', 'alone.json']);
  });

  it('a write in flight keeps the process alive until it lands; an idle thread does not keep it open', async () => {
    const path = join(dir.path, 'alive.json');
    const child = await runChild(
      `require('./lib/storage/file/commit-thread').stepWrites.start().then(() => require('./lib/storage/file/commit-thread').stepWrites.write(${JSON.stringify(path)}, '{"alive":1}')).then(() => console.log('landed'))`,
    );
    expect(child, child.stderr).to.include({ code: 0 });
    expect(child.stdout.trim()).to.equal('landed');
    expect(readFileSync(path, 'utf8')).to.equal('{"alive":1}');
  });
});

/** One completed syscall in an strace log. */
interface Call {
  readonly tid: number;
  readonly name: string;
  readonly args: string;
  readonly result: number;
}

/** The completed calls of an `strace -f` log, in the order they returned (unfinished calls joined to their ends). */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const unfinished = new Map<number, string>();
  for (const line of text.split('\n')) {
    const head = /^(\d+)\s+(.*)$/.exec(line);
    if (!head) continue;
    const tid = Number(head[1]);
    let rest = head[2]!;
    if (rest.endsWith('<unfinished ...>')) {
      unfinished.set(tid, rest.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(rest);
    if (resumed) {
      rest = `${unfinished.get(tid) ?? ''}${resumed[1]}`;
      unfinished.delete(tid);
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(rest);
    if (call) calls.push({ tid, name: call[1]!, args: call[2]!, result: Number(call[3]) });
  }
  return calls;
}

const quoted = (args: string): string[] => [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);

/**
 * Checks, in the order the kernel answered, that `final` came into being by a rename from a new temp
 * file beside it that was written and fsynced first, that its directory was fsynced after, and that
 * nothing ever opened `final` itself (so no reader can see it half written). Returns the thread that
 * renamed it and whether that thread made every call of the sequence.
 */
function expectDurable(calls: Call[], final: string): { tid: number; oneThread: boolean } {
  const open = new Map<number, string>();
  const made = new Map<string, { wrote: boolean; synced: boolean; tids: Set<number> }>();
  let renamed: { tid: number; temp: string } | undefined;
  let directorySynced = false;
  for (const call of calls) {
    const paths = quoted(call.args);
    const fd = Number(/^(\d+)/.exec(call.args)?.[1]);
    if (call.name === 'openat' && call.result >= 0) {
      expect(paths[0], `${final} is never opened, only renamed into place`).to.not.equal(final);
      open.set(call.result, paths[0]!);
      if (/O_CREAT/.test(call.args) && /O_EXCL/.test(call.args)) made.set(paths[0]!, { wrote: false, synced: false, tids: new Set([call.tid]) });
    } else if (call.name === 'close') open.delete(fd);
    else if ((call.name === 'write' || call.name === 'pwrite64') && made.has(open.get(fd)!)) {
      made.get(open.get(fd)!)!.wrote = true;
      made.get(open.get(fd)!)!.tids.add(call.tid);
    } else if (call.name === 'fsync' && call.result === 0) {
      const path = open.get(fd);
      const temp = made.get(path!);
      if (temp && temp.wrote) {
        temp.synced = true;
        temp.tids.add(call.tid);
      }
      if (renamed && path === dirname(final)) directorySynced = true;
    } else if (/^rename/.test(call.name) && call.result === 0 && paths[1] === final) {
      const temp = made.get(paths[0]!);
      expect(paths[0], 'renamed from a temp file beside it').to.match(/\/\.tmp-[^/]+$/);
      expect(dirname(paths[0]!)).to.equal(dirname(final));
      expect(temp, `${paths[0]} was created new (O_CREAT|O_EXCL)`).to.not.equal(undefined);
      expect(temp!.wrote && temp!.synced, `${paths[0]} was written and fsynced before the rename`).to.equal(true);
      temp!.tids.add(call.tid);
      renamed = { tid: call.tid, temp: paths[0]! };
    }
  }
  expect(renamed, `${final} was renamed into place`).to.not.equal(undefined);
  expect(directorySynced, `${dirname(final)} was fsynced after the rename`).to.equal(true);
  return { tid: renamed!.tid, oneThread: made.get(renamed!.temp)!.tids.size === 1 };
}

describe('FileStorage commits, as the kernel sees them (strace)', () => {
  it('each commit fsyncs a new temp file, renames it into place, then fsyncs the directory; off the main thread once a commit thread runs', async function () {
    this.timeout(120_000);
    const which = await runChild('', ['sh', '-c', 'command -v strace || exit 3', '--']);
    if (which.code !== 0) expect.fail('this spec needs strace (Debian: apt-get install strace); .ci/run installs it when missing');
    const dir = await tempDir();
    try {
      const log = join(dir.path, 'trace');
      const child = await runChild(
        `(async () => {
          const { FileStorage } = require('./lib/storage/file/file-storage');
          const { stepWrites } = require('./lib/storage/file/commit-thread');
          const { sampleCheckpoint } = require('./lib/testing');
          const storage = new FileStorage({ directory: ${JSON.stringify(join(dir.path, 'store'))} });
          const got = await storage.acquireLease('job', 'me', 60000);
          await storage.commit('job', sampleCheckpoint('cold', 1), got.lease);
          await stepWrites.start();
          await storage.commit('job', sampleCheckpoint('warm', 2), got.lease);
          await storage.commit('other', sampleCheckpoint('open', 3));
          console.log(JSON.stringify({ pid: process.pid }));
        })()`,
        ['strace', '-f', '-qq', '-s', '4096', '-o', log, '-e', 'trace=openat,write,pwrite64,fsync,close,rename,renameat,renameat2'],
      );
      expect(child, child.stderr).to.include({ code: 0 });
      const { pid } = JSON.parse(child.stdout.trim().split('\n').pop()!) as { pid: number };
      const calls = parseTrace(await fs.readFile(log, 'utf8'));
      const stepsOf = async (workflow: string) => {
        const wf = join(dir.path, 'store', 'workflows', workflow);
        return join(wf, (await fs.readdir(wf)).find((n) => n.startsWith('steps'))!);
      };
      expectDurable(calls, join(await stepsOf('job'), 'cold.json'));
      for (const final of [join(await stepsOf('job'), 'warm.json'), join(await stepsOf('other'), 'open.json')]) {
        const { tid, oneThread } = expectDurable(calls, final);
        expect(tid, `${final} is written off the main thread`).to.not.equal(pid);
        expect(oneThread, `one commit thread makes every call of ${final}'s write`).to.equal(true);
      }
    } finally {
      await dir.remove();
    }
  });
});
