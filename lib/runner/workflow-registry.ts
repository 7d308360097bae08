/**
 * The workflow classes a runner knows by name: how `runner.resume(workflowId)` turns the workflow
 * name stored in a record back into an instance to run, in any process.
 */
import { InvalidOptionError, WorkflowNotRegisteredError } from '../errors';
import { buildGraph } from '../graph';
import type { Constructor } from '../metadata';

/**
 * The runner option `workflows`: the workflow classes (each constructed with no arguments), or a
 * function that returns an instance for a workflow name (a DI container's `get`), or undefined for
 * a name it does not know.
 */
export type WorkflowRegistration = readonly Constructor[] | ((workflowName: string) => object | undefined);

/** Workflow name → instance, from the runner option `workflows`. */
export class WorkflowRegistry {
  private readonly classes = new Map<string, Constructor>();
  private readonly factory?: (workflowName: string) => object | undefined;

  /** Checks every class's graph now, so a broken or duplicate registration fails at construction. */
  constructor(registration: WorkflowRegistration | undefined) {
    if (registration === undefined) return;
    if (typeof registration === 'function') {
      this.factory = registration;
      return;
    }
    if (!Array.isArray(registration)) throw new InvalidOptionError('workflows', registration, 'an array of workflow classes or a function (workflowName) => instance');
    for (const target of registration as readonly unknown[]) {
      if (typeof target !== 'function') throw new InvalidOptionError('workflows', target, 'a workflow class (a constructor with @Step() methods)');
      const { workflowName } = buildGraph(target as Constructor);
      const other = this.classes.get(workflowName);
      if (other !== undefined && other !== target) {
        throw new InvalidOptionError('workflows', target, `one class per workflow name: '${workflowName}' is the name of both ${other.name} and ${(target as Constructor).name}`);
      }
      this.classes.set(workflowName, target as Constructor);
    }
  }

  /** True when a workflow named `workflowName` is registered (a factory is asked for an instance). */
  has(workflowName: string): boolean {
    if (this.factory === undefined) return this.classes.has(workflowName);
    const instance = this.factory(workflowName);
    return instance !== undefined && instance !== null;
  }

  /** An instance of the workflow named `workflowName`, or `WorkflowNotRegisteredError` naming it. */
  instance(workflowId: string, workflowName: string): object {
    if (this.factory !== undefined) {
      const instance = this.factory(workflowName);
      if (instance === undefined || instance === null) throw new WorkflowNotRegisteredError(workflowId, workflowName);
      if (typeof instance !== 'object') throw new InvalidOptionError(`workflows('${workflowName}')`, instance, 'an instance of a workflow class, or undefined');
      return instance;
    }
    const target = this.classes.get(workflowName);
    if (target === undefined) throw new WorkflowNotRegisteredError(workflowId, workflowName);
    return new (target as unknown as new () => object)();
  }
}
