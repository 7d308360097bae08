/**
 * What a waymark job carries through BullMQ, and the deduplication ids that keep one job per purpose.
 *
 * The workflow id travels in the job's data, never as the BullMQ job id: job ids cannot hold every
 * workflow id (no `:`), and a team's own producers may add duplicates under ids of their own.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../errors';
import type { EncodedValue } from '../checkpoint-codec';

// canonicalize@5 is an ES module; Node >= 20.19 loads it with require(), and `.default` is the function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const canonicalize: (value: unknown) => string | undefined = require('canonicalize').default;

/** The data of a job that starts (or resumes) a workflow with its input. */
export interface StartJobData {
  readonly waymark: 1;
  readonly kind: 'start';
  readonly workflowId: string;
  readonly workflowName: string;
  /** The input as waymark encodes it (Dates, Maps, bigints... survive the queue's JSON). */
  readonly input: EncodedValue;
}

/** The data of a job that resumes a stored workflow (a timer came due, an event arrived). */
export interface WakeJobData {
  readonly waymark: 1;
  readonly kind: 'wake';
  readonly workflowId: string;
}

/** The data of a job a job scheduler adds for each cron slot. */
export interface SlotJobData {
  readonly waymark: 1;
  readonly kind: 'slot';
  readonly workflowName: string;
  readonly input: EncodedValue;
}

/** Any waymark job's data. */
export type WaymarkJobData = StartJobData | WakeJobData | SlotJobData;

/** The deduplication id of a start job: one per workflow and input while queued or running. */
export function startDedupId(workflowId: string, input: EncodedValue): string {
  // A different input is a different job: the workflow's input-change policy decides about it,
  // instead of the queue silently dropping it.
  const digest = createHash('sha256').update(canonicalize(input ?? null) ?? 'null').digest('hex').slice(0, 32);
  return `waymark|start|${workflowId}|${digest}`;
}

/** The deduplication id of the job that wakes a workflow at `wakeAt` (epoch ms). */
export function timerDedupId(workflowId: string, wakeAt: number): string {
  return `waymark|timer|${workflowId}|${wakeAt}`;
}

/** The deduplication id of the job that wakes a workflow for one event. */
export function eventDedupId(workflowId: string, eventId: string): string {
  return `waymark|event|${workflowId}|${eventId}`;
}

/** Checks a job's data; a job that is not waymark's (or is damaged) gets an error naming what is wrong. */
export function parseJobData(jobId: string | undefined, data: unknown): WaymarkJobData {
  const where = `data of job '${jobId ?? '?'}'`;
  const d = data as Partial<Record<string, unknown>> | null;
  if (d === null || typeof d !== 'object' || d.waymark !== 1) {
    throw new InvalidOptionError(where, data, "a waymark job's data ({ waymark: 1, kind, ... }): add jobs to this queue with WorkflowQueue");
  }
  const text = (key: string): void => {
    if (typeof d[key] !== 'string' || (d[key] as string).length === 0) throw new InvalidOptionError(`${where}: ${key}`, d[key], 'a non-empty string');
  };
  if (d.kind === 'start' || d.kind === 'wake') text('workflowId');
  if (d.kind === 'start' || d.kind === 'slot') text('workflowName');
  if (d.kind !== 'start' && d.kind !== 'wake' && d.kind !== 'slot') throw new InvalidOptionError(`${where}: kind`, d.kind, "'start', 'wake' or 'slot'");
  return d as unknown as WaymarkJobData;
}
