/**
 * Step commits off the main thread, at the disk's pace. A commit through `fs.promises` is eight
 * thread-pool round trips (open, write, fsync, close, rename, and open, fsync, close of the directory),
 * each a wake-up of the main thread; measured, that took a chain of commits to ~0.55–0.65 of a
 * synchronous loop doing the same syscalls. Here a commit thread does the whole sequence
 * synchronously and answers once: one message each way, and the main thread's event loop stays free.
 *
 * The thread starts at a process's second commit (a process that commits once, a CLI or a short
 * resume, never pays for starting one). It takes a write only when no other is in flight: a chain
 * of steps commits there. Overlapping writes, and every write until the thread runs, take the
 * `fs.promises` path (same syscalls, same order), where concurrent fsyncs batch in the journal and
 * directory fsyncs are grouped.
 */
import { dirname } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { tempPathIn, writeFileAtomic } from './atomic-file';
import { commitThreadMain, type ThreadAnswer, type ThreadWrite } from './commit-thread-body';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** An error as the thread reported it, with its errno fields, so callers can tell ENOENT from the rest. */
function threadError(reported: NonNullable<ThreadAnswer['error']>): Error {
  return Object.assign(new Error(reported.message), { code: reported.code, syscall: reported.syscall, errno: reported.errno });
}

class CommitThread {
  ready = false;
  /** Resolves once the thread runs; rejects if it fails to start. */
  readonly online: Promise<void>;
  private readonly waiting = new Map<number, Waiter>();
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private nextId = 0;

  constructor(onGone: (thread: CommitThread) => void) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(`(${String(commitThreadMain)})()`, { eval: true, workerData: { port: port2 }, transferList: [port2] });
    this.online = new Promise<void>((resolve, reject) => {
      this.worker.once('online', () => {
        this.ready = true;
        if (this.waiting.size === 0) this.idle();
        resolve();
      });
      this.worker.once('error', reject);
    });
    this.online.catch(() => undefined);
    this.port.on('message', (answer: ThreadAnswer) => this.settle(answer.id, answer.error === undefined ? undefined : threadError(answer.error)));
    const gone = (error: Error) => {
      onGone(this);
      for (const id of [...this.waiting.keys()]) this.settle(id, error);
      this.port.close();
    };
    this.worker.once('error', gone);
    this.worker.once('exit', (code) => gone(new Error(`the commit thread exited (code ${code}) before answering`)));
    // Starting, it holds the process open (someone may await `start()`); once idle, it never does.
  }

  write(path: string, data: string): Promise<void> {
    const id = this.nextId++;
    const message: ThreadWrite = { id, temp: tempPathIn(dirname(path)), path, data };
    return new Promise<void>((resolve, reject) => {
      // Only a thread with writes in flight keeps the process alive: an idle one never holds it open.
      if (this.waiting.size === 0) this.busy();
      this.waiting.set(id, { resolve, reject });
      this.port.postMessage(message);
    });
  }

  /** Stops the thread; writes in flight reject. */
  stop(): Promise<number> {
    return this.worker.terminate();
  }

  private settle(id: number, error: Error | undefined): void {
    const waiter = this.waiting.get(id);
    if (waiter === undefined) return;
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.idle();
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  private busy(): void {
    this.worker.ref();
    this.port.ref();
  }

  private idle(): void {
    this.worker.unref();
    this.port.unref();
  }
}

let thread: CommitThread | undefined;

/** Writes in flight, whichever way they went. */
let inFlight = 0;

/** Writes this process asked for: the first one starts no thread (a process that commits once never pays for one). */
let writesSeen = 0;

function startThread(): CommitThread {
  const started = new CommitThread((gone) => {
    if (thread === gone) thread = undefined;
  });
  thread = started;
  return started;
}

/** Counts a write in flight until it settles. */
function counted(write: Promise<void>): Promise<void> {
  inFlight++;
  return write.finally(() => inFlight--);
}

/**
 * Where FileStorage's step commits go. An object rather than a bare function so a spec can stand in
 * front of it (to stall a commit between its fence and its write, say) the way it would stub `fs`.
 */
export const stepWrites = {
  /**
   * Replaces `path` with `data` atomically and durably: a new temp file beside it, written and
   * fsynced, renamed into place, then the directory fsynced; resolves once all of that is on disk.
   * Rejects with the failing syscall's error (its `code`, such as `ENOENT` when the directory is gone).
   */
  write(path: string, data: string): Promise<void> {
    if (++writesSeen >= 2 && thread === undefined) startThread();
    // Alone, a write is fastest on the thread. Writes that overlap do better the fs.promises way:
    // the thread pool runs their fsyncs side by side (the journal batches them) and one directory
    // fsync covers every rename that landed before it (measured: issue 11, README "Performance").
    if (inFlight === 0 && thread?.ready) return counted(thread.write(path, data));
    return counted(writeFileAtomic(path, data));
  },

  /** Starts a commit thread unless one runs; resolves once one is ready to take writes. */
  start(): Promise<void> {
    return (thread ?? startThread()).online;
  },

  /** Stops the commit thread (writes in flight on it reject); a later write starts it again. For specs and orderly shutdowns. */
  async stop(): Promise<void> {
    await thread?.stop();
  },

  /** Whether a commit thread runs now. */
  get running(): boolean {
    return thread !== undefined;
  },
};
