/**
 * Flow-control options of a workflow class, validated when its graph is built: a workflow's
 * concurrency key (`@Workflow({ concurrency })`) and a step's limit and rate limit
 * (`@Step({ limit, rateLimit })`). Keys given as functions are checked when they are called (see
 * {@link checkFlowKey}).
 */
import { WorkflowDefinitionError } from './errors';
import type { StepLimit, StepRateLimit, WorkflowConcurrency } from './metadata';

/** Most slots or calls per window one key may have: a key's state is one small document. */
export const MAX_FLOW_LIMIT = 1_000;
/** Longest key, in characters. */
export const MAX_FLOW_KEY = 100;

/** A validated key: a name, or a function returning one. */
export type FlowKeySource = string | ((arg: unknown) => string);

/** A step's limits, validated. */
export interface StepLimits {
  readonly concurrency?: { readonly key: FlowKeySource; readonly limit: number };
  readonly rate?: { readonly key: FlowKeySource; readonly limit: number; readonly perMs: number };
}

/** What is wrong with a key, or undefined when it is one. */
export function flowKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `a key must be a string, got ${key === null ? 'null' : typeof key}`;
  if (key.length === 0 || key.length > MAX_FLOW_KEY) return `a key must have 1-${MAX_FLOW_KEY} characters, got ${key.length}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return `a key must have no control characters, got ${JSON.stringify(key)}`;
  return undefined;
}

function checkKey(key: unknown, where: string, className: string, step?: string): FlowKeySource {
  if (typeof key === 'function') return key as FlowKeySource;
  const problem = flowKeyProblem(key);
  if (problem !== undefined) throw new WorkflowDefinitionError(`${where}.key: ${problem}, or a function returning one`, className, step);
  return key as string;
}

function checkLimit(value: unknown, where: string, className: string, step?: string): number {
  if (!(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_FLOW_LIMIT)) {
    throw new WorkflowDefinitionError(`${where} must be an integer from 1 to ${MAX_FLOW_LIMIT}, got ${String(value)}`, className, step);
  }
  return value as number;
}

function checkObject(value: unknown, where: string, shape: string, className: string, step?: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw new WorkflowDefinitionError(`${where} must be an object ${shape}, got ${value === null ? 'null' : typeof value}`, className, step);
  return value as Record<string, unknown>;
}

/** `@Workflow({ concurrency })`, validated; undefined when not given. */
export function toConcurrency(options: WorkflowConcurrency | undefined, className: string): { readonly key: FlowKeySource; readonly limit: number } | undefined {
  if (options === undefined) return undefined;
  const o = checkObject(options, 'concurrency', '{ key, limit }', className);
  return { key: checkKey(o.key, 'concurrency', className), limit: checkLimit(o.limit, 'concurrency.limit', className) };
}

/** `@Step({ limit, rateLimit })`, validated; undefined when neither is given. */
export function toStepLimits(limit: StepLimit | undefined, rateLimit: StepRateLimit | undefined, className: string, step: string): StepLimits | undefined {
  if (limit === undefined && rateLimit === undefined) return undefined;
  let concurrency: StepLimits['concurrency'];
  if (limit !== undefined) {
    const o = checkObject(limit, 'limit', '{ key, concurrency }', className, step);
    concurrency = { key: checkKey(o.key, 'limit', className, step), limit: checkLimit(o.concurrency, 'limit.concurrency', className, step) };
  }
  let rate: StepLimits['rate'];
  if (rateLimit !== undefined) {
    const o = checkObject(rateLimit, 'rateLimit', '{ key, limit, perMs }', className, step);
    if (!(Number.isInteger(o.perMs) && (o.perMs as number) >= 1)) throw new WorkflowDefinitionError(`rateLimit.perMs must be an integer >= 1 (the window, in ms), got ${String(o.perMs)}`, className, step);
    rate = { key: checkKey(o.key, 'rateLimit', className, step), limit: checkLimit(o.limit, 'rateLimit.limit', className, step), perMs: o.perMs as number };
  }
  return { ...(concurrency === undefined ? {} : { concurrency }), ...(rate === undefined ? {} : { rate }) };
}
