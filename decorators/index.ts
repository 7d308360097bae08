export { Step } from './step';
export { Workflow } from './workflow';
export { OnInputChange } from './on-input-change';
export { Fingerprint } from './fingerprint';
