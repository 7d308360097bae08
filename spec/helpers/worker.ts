import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TS_REGISTER } from './child';

const ROOT = join(__dirname, '..', '..');

/** A running workflow worker (spec/fixtures/workflow-worker.ts) with an IPC channel. */
export interface Worker {
  readonly child: ChildProcess;
  /** Resolves when the worker waits at its start barrier (BARRIER=1). */
  readonly waiting: Promise<void>;
  /** Resolves when the worker is about to run (after the barrier, if any). */
  readonly ready: Promise<void>;
  /** Resolves when the process exits. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['-r', TS_REGISTER, join(ROOT, 'spec/fixtures/workflow-worker.ts')], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const waiting = new Promise<void>((resolve) => child.on('message', (m) => m === 'waiting' && resolve()));
  const ready = new Promise<void>((resolve) => child.on('message', (m) => m === 'ready' && resolve()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, waiting, ready, exit };
}

/** Event lines a worker wrote, as [pid, kind, rest]. */
export function readEvents(file: string): [string, string, string][] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, kind, ...rest] = line.split(' ');
      return [pid, kind, rest.join(' ')];
    });
}
