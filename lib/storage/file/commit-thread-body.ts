/**
 * The code a commit thread runs. It is sent to the thread as source text (`String(commitThreadMain)`),
 * so it uses nothing from the module around it: only what it requires itself. It is excluded from
 * mutation testing (the mutant switches Stryker adds would not exist in the thread); the specs of
 * `commit-thread.ts` and the strace spec of FileStorage check what it does.
 */

/** A write the main thread asks for: the temp file to write, the name to rename it to. */
export interface ThreadWrite {
  readonly id: number;
  readonly temp: string;
  readonly path: string;
  readonly data: string;
}

/** What the thread answers for one write: nothing when it is on disk, else the error's fields. */
export interface ThreadAnswer {
  readonly id: number;
  readonly error?: { readonly message: string; readonly code?: string; readonly syscall?: string; readonly errno?: number };
}

/**
 * Entry point of a commit thread. For each write it gets, the syscalls of an atomic write,
 * synchronously (open a new temp file, write, fsync, close, rename into place, then open, fsync and
 * close the directory), and only then one answer. Synchronous calls here block this thread only: the
 * main thread's event loop stays free, and a commit costs one message each way instead of eight
 * thread-pool round trips.
 */
export function commitThreadMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fs = require('node:fs') as typeof import('node:fs');
  const { dirname } = require('node:path') as typeof import('node:path');
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const port = (threads.workerData as { port: import('node:worker_threads').MessagePort }).port;

  const write = ({ temp, path, data }: ThreadWrite): void => {
    let fd = fs.openSync(temp, 'wx');
    try {
      try {
        const bytes = Buffer.from(data, 'utf8');
        for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, path);
    } catch (error) {
      try {
        fs.rmSync(temp, { force: true });
      } catch {
        // Left for the stale-temp sweep, which knows this process's temp files by their tag.
      }
      throw error;
    }
    fd = fs.openSync(dirname(path), 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  };

  port.on('message', (request: ThreadWrite) => {
    let answer: ThreadAnswer;
    try {
      write(request);
      answer = { id: request.id };
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      answer = { id: request.id, error: { message: String(e?.message ?? error), code: e?.code, syscall: e?.syscall, errno: e?.errno } };
    }
    port.postMessage(answer);
  });
}
