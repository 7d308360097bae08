import { WorkflowDefinitionError } from '../lib/errors';
import { recordStandardStep, recordStep, type StepOptions } from '../lib/metadata';
import type { MissingSteps, StepNames } from '../lib/workflow-types';
import { isStandardContext } from './decorator-mode';

/**
 * What `@Step()` returns: a decorator that works in both TypeScript decorator modes, legacy
 * (`experimentalDecorators`, which NestJS and tsyringe need for `design:paramtypes`) and the TC39
 * standard ones (TypeScript 5's default, esbuild, tsx). `K` are the step names its options give
 * (`after`, `compensate`): the decorated class must have public methods by those names, so a
 * misspelt one does not compile.
 */
export interface StepDecorator<K extends string = never> {
  /** Legacy decorators: the prototype and the method's key. */
  (prototype: object & StepNames<K>, propertyKey: string | symbol, descriptor?: PropertyDescriptor): void;
  /** Standard decorators: the method and its context. */
  <This>(method: (this: This, ...args: never[]) => unknown, context: ClassMethodDecoratorContext<This> & MissingSteps<This, K>): void;
}

/**
 * Marks a method as a step of the workflow. Records metadata only: the method is not wrapped.
 *
 * The step's identity in storage is its name (`options.name` or the method name), never a random id,
 * so a run in another process resumes it.
 */
export function Step<const A extends string = never, const C extends string = never>(options: StepOptions & { readonly after?: readonly A[]; readonly compensate?: C } = {}): StepDecorator<A | C> {
  return ((target: object, key: string | symbol | DecoratorContext) => {
    if (!isStandardContext(key)) {
      recordStep(target, { ...options, method: key });
      return;
    }
    if (key.kind !== 'method' || key.static || key.private) {
      const what = key.kind !== 'method' ? `a ${key.kind}` : key.static ? 'a static method' : 'a private (#) method';
      throw new WorkflowDefinitionError(`@Step() must decorate a public instance method, not ${what}`, '(class being defined)', String(key.name));
    }
    if (key.metadata === undefined) throw new WorkflowDefinitionError('standard decorators gave no context.metadata (Symbol.metadata); import waymark before defining the class', '(class being defined)', String(key.name));
    recordStandardStep(key.metadata, { ...options, method: key.name });
  }) as StepDecorator<A | C>;
}
