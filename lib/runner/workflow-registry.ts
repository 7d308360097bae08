/**
 * The workflow classes a runner knows by name and version: how `runner.resume(workflowId)` turns the
 * workflow name and version stored in a record back into an instance to run, in any process.
 */
import { InvalidOptionError, WorkflowNotRegisteredError } from '../errors';
import { buildGraph } from '../graph';
import type { Constructor } from '../metadata';

/**
 * The runner option `workflows`: the workflow classes (each constructed with no arguments; several
 * versions of one name side by side), or a function that returns an instance for a workflow name
 * and version (a DI container's `get`; `version` undefined asks for the newest), or undefined for
 * one it does not know.
 */
export type WorkflowRegistration = readonly Constructor[] | ((workflowName: string, version?: number) => object | undefined);

/** Workflow name and version → instance, from the runner option `workflows`. */
export class WorkflowRegistry {
  /** By name, then by version. */
  private readonly classes = new Map<string, Map<number, Constructor>>();
  private readonly factory?: (workflowName: string, version?: number) => object | undefined;

  /** Checks every class's graph now, so a broken or duplicate registration fails at construction. */
  constructor(registration: WorkflowRegistration | undefined) {
    if (registration === undefined) return;
    if (typeof registration === 'function') {
      this.factory = registration;
      return;
    }
    if (!Array.isArray(registration)) throw new InvalidOptionError('workflows', registration, 'an array of workflow classes or a function (workflowName, version?) => instance');
    for (const target of registration as readonly unknown[]) {
      if (typeof target !== 'function') throw new InvalidOptionError('workflows', target, 'a workflow class (a constructor with @Step() methods)');
      const { workflowName, version } = buildGraph(target as Constructor);
      const versions = this.classes.get(workflowName) ?? new Map<number, Constructor>();
      const other = versions.get(version);
      if (other !== undefined && other !== target) {
        throw new InvalidOptionError('workflows', target, `one class per workflow name and version: '${workflowName}' version ${version} is both ${other.name} and ${(target as Constructor).name} (give one of them @Workflow({ version }))`);
      }
      versions.set(version, target as Constructor);
      this.classes.set(workflowName, versions);
    }
  }

  /** True when workflow `workflowName` is registered (in `version`, when given; a factory is asked for an instance). */
  has(workflowName: string, version?: number): boolean {
    if (this.factory === undefined) return version === undefined ? this.classes.has(workflowName) : this.classes.get(workflowName)?.has(version) === true;
    const instance = this.factory(workflowName, version);
    return instance !== undefined && instance !== null && (version === undefined || versionOf(instance) === version);
  }

  /** The versions of `workflowName` registered, ascending (a factory's are not known: empty). */
  versions(workflowName: string): number[] {
    return [...(this.classes.get(workflowName)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The class of `workflowName` in `version` (default the newest), or undefined. */
  classOf(workflowName: string, version?: number): Constructor | undefined {
    if (this.factory !== undefined) {
      const instance = this.factory(workflowName, version);
      if (instance === undefined || instance === null || typeof instance !== 'object') return undefined;
      const target = instance.constructor as Constructor;
      return version === undefined || versionOf(instance) === version ? target : undefined;
    }
    const versions = this.classes.get(workflowName);
    if (versions === undefined) return undefined;
    return versions.get(version ?? Math.max(...versions.keys()));
  }

  /**
   * An instance of workflow `workflowName` in `version` (default the newest registered), or
   * `WorkflowNotRegisteredError` naming it (and the versions there are).
   */
  instance(workflowId: string, workflowName: string, version?: number): object {
    if (this.factory !== undefined) {
      const instance = this.factory(workflowName, version);
      if (instance === undefined || instance === null) throw new WorkflowNotRegisteredError(workflowId, workflowName, version);
      if (typeof instance !== 'object') throw new InvalidOptionError(`workflows('${workflowName}')`, instance, 'an instance of a workflow class, or undefined');
      const actual = versionOf(instance);
      if (version !== undefined && actual !== version) throw new WorkflowNotRegisteredError(workflowId, workflowName, version, [actual]);
      return instance;
    }
    const versions = this.classes.get(workflowName);
    const target = versions?.get(version ?? Math.max(...(versions?.keys() ?? [])));
    if (target === undefined) throw new WorkflowNotRegisteredError(workflowId, workflowName, version, this.versions(workflowName));
    return new (target as unknown as new () => object)();
  }
}

function versionOf(instance: object): number {
  return buildGraph(instance.constructor as Constructor).version;
}
