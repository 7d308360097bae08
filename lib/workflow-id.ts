/**
 * What a workflow id may be. One rule for every storage provider, checked before anything is read.
 */
import { InvalidWorkflowIdError } from './errors';

/** Longest workflow id accepted, in UTF-16 code units. */
export const MAX_WORKFLOW_ID_LENGTH = 200;

/**
 * The ids of flow-control documents (a concurrency key's, a step limit's, a rate limit's): stored as
 * records beside the workflows', and the one shape of id with control characters a store accepts.
 * No workflow can have one (a workflow's id has no control characters), so none is ever confused
 * with a workflow.
 */
export const FLOW_ID = /^\u001fwaymark-flow\u001f(?:concurrency|limit|rate)\u001f[0-9a-f]{40}$/;

/** The id checked last: storage calls of one run repeat it, and checking a string again is wasted work. */
let lastValid: string | undefined;

/** Throws {@link InvalidWorkflowIdError} unless `id` is a non-empty string of at most 200 characters without control characters. */
export function assertWorkflowId(id: unknown): asserts id is string {
  if (id === lastValid) return;
  if (typeof id !== 'string') throw new InvalidWorkflowIdError(String(id), `expected a string, got ${typeof id}`);
  if (id.length === 0) throw new InvalidWorkflowIdError(id, 'it is empty');
  if (FLOW_ID.test(id)) return;
  if (id.length > MAX_WORKFLOW_ID_LENGTH) throw new InvalidWorkflowIdError(id, `it has ${id.length} characters; at most ${MAX_WORKFLOW_ID_LENGTH} are allowed`);
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/.exec(id);
  if (control) throw new InvalidWorkflowIdError(id, `it contains the control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')} at index ${control.index}`);
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(id)) throw new InvalidWorkflowIdError(id, 'it contains a lone surrogate (not valid Unicode)');
  lastValid = id;
}

/** A name made only of the characters an encoding keeps as they are. */
const SAFE_SEGMENT = /^[a-z0-9_-]+$/;

/**
 * Encodes a name (workflow id or step name) as one safe path segment or key segment.
 * Lowercase ASCII letters, digits, `-` and `_` stay; every other UTF-8 byte becomes `%XX` (uppercase hex),
 * so `.`/`..`/`/` cannot appear, and two names never differ only in letter case (safe on
 * case-insensitive file systems).
 */
export function encodeSegment(name: string): string {
  // Most names are already safe (step names like `s12` or `charge-card`): they encode to themselves.
  if (SAFE_SEGMENT.test(name)) return name;
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[a-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of {@link encodeSegment}; undefined when `segment` is not an encoding it produced. */
export function decodeSegment(segment: string): string | undefined {
  if (SAFE_SEGMENT.test(segment)) return segment;
  if (!/^(?:[a-z0-9_-]|%[0-9A-F]{2})+$/.test(segment)) return undefined;
  try {
    const name = decodeURIComponent(segment);
    return encodeSegment(name) === segment ? name : undefined;
  } catch {
    return undefined;
  }
}
