/**
 * Structured logging of lifecycle events through any logger with `info/warn/error/debug`
 * (console, pino, Nest's Logger).
 */
import type { RunEvents, WorkflowEventName, WorkflowEvents } from './run-events';

/**
 * Any logger with `warn`, `error`, and `info` or `log` (console and pino have both; Nest's Logger
 * has `log`); `debug` is used when present.
 */
export interface WaymarkLogger {
  info?(message: string, ...meta: unknown[]): unknown;
  log?(message: string, ...meta: unknown[]): unknown;
  warn(message: string, ...meta: unknown[]): unknown;
  error(message: string, ...meta: unknown[]): unknown;
  debug?(message: string, ...meta: unknown[]): unknown;
}

type Level = 'info' | 'warn' | 'error' | 'debug';

/** True when `value` can serve as a {@link WaymarkLogger}. */
export function isLogger(value: unknown): value is WaymarkLogger {
  const l = value as WaymarkLogger | undefined;
  return typeof l?.warn === 'function' && typeof l.error === 'function' && (typeof l.info === 'function' || typeof l.log === 'function');
}

function write(logger: WaymarkLogger, level: Level, message: string, record: Record<string, unknown>): void {
  const method = level === 'info' ? (logger.info ?? logger.log) : logger[level];
  method?.call(logger, message, record);
}

const LEVELS: { readonly [E in WorkflowEventName]: (p: WorkflowEvents[E]) => Level } = {
  'run:started': () => 'info',
  'input:changed': () => 'warn',
  'step:started': () => 'debug',
  'step:attempt-failed': (p) => (p.willRetry ? 'warn' : 'error'),
  'step:committed': () => 'info',
  'step:restored': () => 'info',
  'run:completed': () => 'info',
  'run:failed': () => 'error',
  'run:cancelled': () => 'warn',
  'run:waiting': () => 'info',
  'step:waiting': () => 'info',
  'step:skipped': () => 'info',
  'step:retry-later': () => 'info',
  'step:compensating': () => 'warn',
  'step:compensated': () => 'warn',
  'lease:acquired': () => 'debug',
  'lease:lost': () => 'error',
};

/** A log record: the event name as message, and a flat, JSON-friendly record as metadata. */
export function logRecord<E extends WorkflowEventName>(event: E, payload: WorkflowEvents[E]): Record<string, unknown> {
  const record: Record<string, unknown> = { event };
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'result') {
      const r = value as WorkflowEvents['run:completed']['result'];
      record.status = r.status;
      record.steps = Object.fromEntries(Object.entries(r.steps).map(([n, s]) => [n, s.status]));
    } else if (value instanceof Error) {
      record[key] = { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
    } else {
      record[key] = value;
    }
  }
  return record;
}

/** Subscribes `logger` to every event of `events`. */
export function attachLogger(events: RunEvents, logger: WaymarkLogger): void {
  for (const event of Object.keys(LEVELS) as WorkflowEventName[]) {
    events.on(event, (payload) => {
      const level = (LEVELS[event] as (p: typeof payload) => Level)(payload);
      write(logger, level, `waymark ${event}`, logRecord(event, payload));
    });
  }
}
