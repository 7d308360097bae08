/**
 * Loading the user's own module of workflow classes, for the commands that need the code (`graph`,
 * `migrate`): a compiled `.js`, or a `.ts` through ts-node when it is installed.
 */
import { resolve } from 'node:path';
import { buildGraph } from '../graph';
import type { Constructor } from '../metadata';
import { UsageError } from './args';

/** The exports of the module at `path` (resolved from `cwd`). */
export function loadModule(cwd: string, path: string): Record<string, unknown> {
  const file = resolve(cwd, path);
  if (/\.[cm]?ts$/.test(file)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('ts-node').register({ transpileOnly: true });
    } catch {
      throw new UsageError(`cannot load ${path}: loading a .ts module needs ts-node installed (or point at the compiled .js)`);
    }
  }
  require('reflect-metadata');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as Record<string, unknown>;
}

/** The workflow classes among the module's exports (classes with `@Step()` methods). */
export function workflowClasses(path: string, exports: Record<string, unknown>): Constructor[] {
  const classes = Object.values(exports).filter((value): value is Constructor => {
    if (typeof value !== 'function') return false;
    try {
      buildGraph(value as Constructor);
      return true;
    } catch {
      return false;
    }
  });
  if (classes.length === 0) throw new UsageError(`${path} exports no workflow class (a class with @Step() methods)`);
  return classes;
}
