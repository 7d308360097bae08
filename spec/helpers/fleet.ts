/**
 * A fleet of worker processes running one fixture, for kill rounds: started together, one SIGKILLed
 * at random and replaced on demand (the time of each kill noted by pid), all killed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TS_REGISTER } from './child';

const ROOT = join(__dirname, '..', '..');

/** A running fleet. */
export interface Fleet {
  /** When each killed process was sent SIGKILL (it runs no code after), by pid. */
  readonly killedAt: ReadonlyMap<string, number>;
  /** Kills the process at `pick` (0 to 1) of those alive, and starts one in its place. */
  kill(pick: number): void;
  /** Kills every process and waits for them to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `count` processes of `fixture` (a path under the project) with `env`, plus `envFor(n)` for
 * the n-th process started (replacements included). With `ready`, resolves once each has sent it.
 */
export async function startFleet(fixture: string, count: number, env: Record<string, string>, options: { envFor?: (n: number) => Record<string, string>; ready?: string } = {}): Promise<Fleet> {
  const live = new Map<number, ChildProcess>();
  const killedAt = new Map<string, number>();
  let started = 0;
  const start = () => {
    const child = spawn(process.execPath, ['-r', TS_REGISTER, join(ROOT, fixture)], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...env, ...options.envFor?.(started++) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    live.set(child.pid!, child);
    child.on('exit', () => live.delete(child.pid!));
    return new Promise<void>((resolve) => (options.ready === undefined ? resolve() : child.on('message', (m) => m === options.ready && resolve())));
  };
  await Promise.all(Array.from({ length: count }, start));
  return {
    killedAt,
    kill(pick: number) {
      const pids = [...live.keys()];
      const pid = pids[Math.floor(pick * pids.length)]!;
      killedAt.set(String(pid), Date.now());
      live.get(pid)!.kill('SIGKILL');
      live.delete(pid);
      void start();
    },
    async stop() {
      const exits = [...live.values()].map((c) => new Promise((resolve) => c.once('exit', resolve)));
      for (const child of live.values()) child.kill('SIGKILL');
      await Promise.all(exits);
    },
  };
}
