import { recordStep, type StepOptions } from '../lib/metadata';

/**
 * Marks a method as a step of the workflow. Records metadata only: the method is not wrapped.
 *
 * The step's identity in storage is its name (`options.name` or the method name), never a random id,
 * so a run in another process resumes it.
 */
export function Step(options: StepOptions = {}): MethodDecorator {
  return (prototype, propertyKey) => {
    recordStep(prototype, { ...options, method: propertyKey });
  };
}
