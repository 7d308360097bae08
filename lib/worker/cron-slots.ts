/**
 * The slots of a cron schedule, computed by croner (no hand-written cron parsing): the times a
 * schedule fires, in a time zone, and the workflow id each slot runs as.
 */
import { Cron } from 'croner';
import { InvalidOptionError } from '../errors';

/** How far back the latest slot is looked for, widening until one is found (a yearly cron needs the widest). */
const LOOKBACK_MS = [60_000, 3_600_000, 86_400_000, 32 * 86_400_000, 367 * 86_400_000, 5 * 367 * 86_400_000];

/** The workflow id of a schedule's slot: `<workflowName>@<slot ISO time>`. */
export function slotWorkflowId(workflowName: string, slot: number): string {
  return `${workflowName}@${new Date(slot).toISOString()}`;
}

/** The fire times of one cron pattern. */
export class CronSlots {
  private readonly cron: Cron;

  /** Throws `InvalidOptionError` naming the pattern or time zone croner refuses. */
  constructor(
    readonly pattern: string,
    readonly timezone?: string,
  ) {
    if (typeof pattern !== 'string' || pattern.trim().length === 0) throw new InvalidOptionError('cron', pattern, "a cron pattern such as '0 6 * * *'");
    if (timezone !== undefined && typeof timezone !== 'string') throw new InvalidOptionError('timezone', timezone, "an IANA time zone such as 'Europe/Paris'");
    const { cron, first } = refusing(pattern, timezone);
    this.cron = cron;
    if (first === null) throw new InvalidOptionError('cron', pattern, 'a cron pattern that fires at least once (this one names no date that exists)');
  }

  /** The first slot after `after` (epoch ms), if the pattern has one. */
  next(after: number): number | undefined {
    return this.cron.nextRun(new Date(after))?.getTime();
  }

  /** The slots in `(after, upTo]`, earliest first. */
  between(after: number, upTo: number): number[] {
    const slots: number[] = [];
    for (let slot = this.next(after); slot !== undefined && slot <= upTo; slot = this.next(slot)) slots.push(slot);
    return slots;
  }

  /** The latest slot at or before `at`, if there is one within five years. */
  latest(at: number): number | undefined {
    for (const back of LOOKBACK_MS) {
      const slots = this.between(at - back, at);
      if (slots.length > 0) return slots[slots.length - 1];
    }
    return undefined;
  }
}

/**
 * A croner job for the pattern (given no function, croner schedules nothing: it only computes
 * times), and its first time after 1970 (null for a pattern that never fires). What croner refuses, when built or when first asked for a time (a time zone is checked
 * then), becomes `InvalidOptionError` on the option at fault: the zone if the pattern alone works.
 */
function refusing(pattern: string, timezone: string | undefined): { cron: Cron; first: Date | null } {
  try {
    const cron = new Cron(pattern, { timezone });
    return { cron, first: cron.nextRun(new Date(0)) };
  } catch (error) {
    const message = (error as Error).message;
    if (timezone !== undefined && accepts(pattern)) throw new InvalidOptionError('timezone', timezone, `an IANA time zone (${message})`);
    throw new InvalidOptionError('cron', pattern, `a cron pattern croner accepts (${message})`);
  }
}

function accepts(pattern: string): boolean {
  try {
    new Cron(pattern).nextRun(new Date(0));
    return true;
  } catch {
    return false;
  }
}
