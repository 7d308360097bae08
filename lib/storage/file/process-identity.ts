/**
 * Who a process is, strongly enough to tell that a lock's owner is dead without waiting for the lock
 * to expire.
 *
 * Host name and pid alone are not enough: containers share host names, each pid namespace counts
 * from 1, and a restarted container reuses its pid. So a process is named by its host, the kernel's
 * boot id, its pid namespace, its pid and its start time (in clock ticks since boot), and an owner
 * is "dead at once" only when every one of them can be checked here and says so. Anything this
 * process cannot see (another machine, another boot, another pid namespace) is never judged dead:
 * its lock waits for expiry.
 */
import { promises as fs, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** A process as written into locks and temp-file names. */
export interface ProcessIdentity {
  readonly host: string;
  readonly pid: number;
  /** The kernel boot id (Linux); absent where it cannot be read. */
  readonly boot?: string;
  /** The pid namespace, e.g. `pid:[4026531836]` (Linux); absent where it cannot be read. */
  readonly pidns?: string;
  /** Start time of the process, in clock ticks since boot (Linux); absent where it cannot be read. */
  readonly started?: string;
}

let self: ProcessIdentity | undefined;

/** This process's identity (read once). */
export function thisProcess(): ProcessIdentity {
  if (self === undefined) {
    const boot = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    const pidns = readOr(() => readlinkSync('/proc/self/ns/pid'));
    const started = readOr(() => startTimeOf(readFileSync('/proc/self/stat', 'utf8')));
    self = { host: hostname(), pid: process.pid, ...(boot && { boot }), ...(pidns && { pidns }), ...(started && { started }) };
  }
  return self;
}

/**
 * True only when `owner` provably no longer runs: same host, same boot and same pid namespace as
 * this process, and its pid is gone or now belongs to a process started at another time (pid reuse,
 * e.g. a restarted container whose process is pid 1 again). Where any of these cannot be checked,
 * false: the caller waits for the lease to expire instead.
 */
export async function isDeadAtOnce(owner: Partial<ProcessIdentity>): Promise<boolean> {
  const me = thisProcess();
  if (typeof owner.pid !== 'number' || owner.host !== me.host) return false;
  if (me.boot === undefined || me.pidns === undefined || me.started === undefined) {
    // Without /proc (macOS, Windows) there are no pid namespaces to confuse: a pid that does not
    // exist on this host is dead.
    return owner.boot === undefined && owner.pidns === undefined && !isAlive(owner.pid);
  }
  if (owner.boot !== me.boot || owner.pidns !== me.pidns || owner.started === undefined) return false;
  if (owner.pid === me.pid) return owner.started !== me.started;
  if (!isAlive(owner.pid)) return true;
  const started = await startTimeOfPid(owner.pid);
  return started !== undefined && started !== owner.started;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function startTimeOfPid(pid: number): Promise<string | undefined> {
  try {
    return startTimeOf(await fs.readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses, so count from the last ')'. */
function startTimeOf(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const started = fields[19];
  return started !== undefined && /^\d+$/.test(started) ? started : undefined;
}

function readOr(read: () => string | undefined): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
