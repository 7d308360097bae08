/**
 * `waymark/testing`: helpers for users' own specs.
 */
import { assertSupportedNode } from '../node-version';

// Loading waymark on a Node.js it does not support fails here, saying which it needs.
assertSupportedNode();

export { describeStorageContract, sampleCheckpoint, sampleRecord, type StorageFixture, type StorageContractOptions } from './storage-contract';
export { runForEach, runSpawn, runStep, runWhen, type RunStepOptions } from './run-step';
export type { SpawnedChild } from '../runner/children/child-list';
