/**
 * `waymark/testing`: helpers for users' own specs.
 */
export { describeStorageContract, sampleCheckpoint, sampleRecord, type StorageFixture, type StorageContractOptions } from './storage-contract';
export { runStep, type RunStepOptions } from './run-step';
