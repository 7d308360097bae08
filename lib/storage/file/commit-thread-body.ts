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
 * Entry point of a commit thread. Takes every write waiting on its port at once; for each, the
 * syscalls of an atomic write, synchronously (open a new temp file, write, fsync, close, rename into
 * place); then one directory fsync per directory that got a rename, and only then answers them all.
 * Synchronous calls here block this thread only: the main thread's event loop stays free, and a
 * commit costs one message each way instead of eight thread-pool round trips.
 */
export function commitThreadMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fs = require('node:fs') as typeof import('node:fs');
  const { dirname } = require('node:path') as typeof import('node:path');
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const port = (threads.workerData as { port: import('node:worker_threads').MessagePort }).port;

  const failure = (id: number, error: unknown): ThreadAnswer => {
    const e = error as NodeJS.ErrnoException;
    return { id, error: { message: String(e?.message ?? error), code: e?.code, syscall: e?.syscall, errno: e?.errno } };
  };

  const syncDirectory = (directory: string): void => {
    const fd = fs.openSync(directory, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  };

  port.on('message', (first: ThreadWrite) => {
    const batch = [first];
    for (let next = threads.receiveMessageOnPort(port); next !== undefined; next = threads.receiveMessageOnPort(port)) batch.push(next.message as ThreadWrite);
    const answers: ThreadAnswer[] = [];
    const renamed = new Map<string, number[]>();
    for (const write of batch) {
      let created = false;
      try {
        const fd = fs.openSync(write.temp, 'wx');
        created = true;
        try {
          const bytes = Buffer.from(write.data, 'utf8');
          for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(write.temp, write.path);
        const directory = dirname(write.path);
        renamed.set(directory, [...(renamed.get(directory) ?? []), write.id]);
      } catch (error) {
        try {
          if (created) fs.rmSync(write.temp, { force: true });
        } catch {
          // Left for the stale-temp sweep, which knows this process's temp files by their tag.
        }
        answers.push(failure(write.id, error));
      }
    }
    // One directory fsync covers every rename in it above: group commit within the batch.
    for (const [directory, ids] of renamed) {
      try {
        syncDirectory(directory);
        for (const id of ids) answers.push({ id });
      } catch (error) {
        for (const id of ids) answers.push(failure(id, error));
      }
    }
    port.postMessage(answers);
  });
}
