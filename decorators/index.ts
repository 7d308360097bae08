export { Step } from './step';
export { Workflow } from './workflow';
export { OnInputChange } from './on-input-change';
export { Fingerprint } from './fingerprint';
export type { StepDecorator } from './step';
export type { WorkflowClassDecorator } from './decorator-mode';
