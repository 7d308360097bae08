import { recordWorkflow, type Constructor, type WorkflowOptions } from '../lib/metadata';
import type { WorkflowClassDecorator } from './decorator-mode';

/**
 * Names a workflow class and, optionally, the class-validator class of its input.
 * Records metadata only: the class is returned unchanged, so DI containers still see its constructor
 * parameters (`design:paramtypes`).
 */
export function Workflow(options: WorkflowOptions = {}): WorkflowClassDecorator {
  return (target) => {
    recordWorkflow(target as unknown as Constructor, options);
  };
}
