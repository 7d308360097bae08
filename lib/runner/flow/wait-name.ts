/**
 * What a run waiting for a slot or a token says it waits for: a name in its record's `waitingFor`,
 * beside the events its steps wait for. It holds a control character, so no event a sender can
 * send has it, and it is shown to people as what it is.
 */
import type { FlowKind } from './flow-store';

const PREFIX = '\u001fflow\u001f';

const SHOWN: Readonly<Record<FlowKind, string>> = { concurrency: 'a slot of concurrency key', limit: 'a slot of step limit', rate: 'a call allowed by rate limit' };

/** The name a run waiting on key `key` of kind `kind` stores in `waitingFor`. */
export function flowWaitName(kind: FlowKind, key: string): string {
  return `${PREFIX}${kind}\u001f${key}`;
}

/** How a `waitingFor` name is shown when it is a wait for a slot or token (`a slot of concurrency key 'customer-7'`); undefined for any other name. */
export function shownFlowWait(name: string): string | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const rest = name.slice(PREFIX.length);
  const end = rest.indexOf('\u001f');
  const kind = rest.slice(0, end) as FlowKind;
  return `${SHOWN[kind] ?? kind} '${rest.slice(end + 1)}'`;
}
