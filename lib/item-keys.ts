/**
 * How a per-item fan-out (`@Step({ forEach })`) names what it commits beside ordinary checkpoints: its
 * item list and one checkpoint per item. Each name is the step's name, a control character (which no
 * step name may hold, so no step can be confused with an item) and a suffix. Storage sees ordinary
 * checkpoint names; only the runner and its readers know what they mean.
 */

/** Between a step's name and an item's suffix: the ASCII unit separator, never in a step name. */
const SEPARATOR = '\u001f';
const LIST = 'list';
const CHILDREN = 'children';

/** The checkpoint name of item `index` of fan-out step `step`. */
export function itemKey(step: string, index: number): string {
  return `${step}${SEPARATOR}${index}`;
}

/** The checkpoint name of fan-out step `step`'s committed item list. */
export function listKey(step: string): string {
  return `${step}${SEPARATOR}${LIST}`;
}

/** The checkpoint name of spawn step `step`'s committed list of child workflows (`@Step({ spawn })`). */
export function childrenKey(step: string): string {
  return `${step}${SEPARATOR}${CHILDREN}`;
}

/** True for the name of a step's own checkpoint, false for a fan-out's list or item. */
export function isStepKey(name: string): boolean {
  return !name.includes(SEPARATOR);
}

/** What a stored checkpoint name stands for. */
export type KeyMeaning = { readonly kind: 'step'; readonly step: string } | { readonly kind: 'list'; readonly step: string } | { readonly kind: 'children'; readonly step: string } | { readonly kind: 'item'; readonly step: string; readonly index: number };

/** What the checkpoint name `name` stands for; a name with the separator but no known suffix reads as an item of index -1 (never asked for). */
export function keyMeaning(name: string): KeyMeaning {
  const at = name.lastIndexOf(SEPARATOR);
  if (at === -1) return { kind: 'step', step: name };
  const step = name.slice(0, at);
  const suffix = name.slice(at + 1);
  if (suffix === LIST) return { kind: 'list', step };
  if (suffix === CHILDREN) return { kind: 'children', step };
  return { kind: 'item', step, index: /^(0|[1-9]\d{0,8})$/.test(suffix) ? Number(suffix) : -1 };
}

/** Committed checkpoint names sorted out: the steps' own, and per fan-out step how many items are committed and whether its list is. */
export interface CommittedKeys {
  readonly steps: readonly string[];
  /** Committed items, by fan-out step. */
  readonly items: ReadonlyMap<string, number>;
  /** Fan-out steps whose item list is committed. */
  readonly lists: ReadonlySet<string>;
  /** Spawn steps whose list of child workflows is committed. */
  readonly children: ReadonlySet<string>;
}

/** Sorts out committed checkpoint names (as `storage.load` lists them) in one pass. */
export function sortCommitted(names: readonly string[]): CommittedKeys {
  const steps: string[] = [];
  const items = new Map<string, number>();
  const lists = new Set<string>();
  const children = new Set<string>();
  for (const name of names) {
    if (isStepKey(name)) {
      steps.push(name);
      continue;
    }
    const meaning = keyMeaning(name);
    if (meaning.kind === 'list') lists.add(meaning.step);
    else if (meaning.kind === 'children') children.add(meaning.step);
    else items.set(meaning.step, (items.get(meaning.step) ?? 0) + 1);
  }
  return { steps, items, lists, children };
}
