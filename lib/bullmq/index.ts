/**
 * `waymark/bullmq`: durable workflows on a BullMQ queue. BullMQ delivers jobs at least once, to any
 * number of machines; waymark's leases and checkpoints commit each step once. `bullmq` is an
 * optional peer dependency, loaded only by this subpath.
 */
import { assertSupportedNode } from '../node-version';

// Loading waymark on a Node.js it does not support fails here, saying which it needs.
assertSupportedNode();

export { WorkflowQueue, type WorkflowQueueOptions, type EnqueueOptions, type EnqueueResult, type QueueScheduleOptions } from './workflow-queue';
export { QueueWorker, type QueueWorkerOptions, type QueueWorkerCloseOptions, type QueueJobResult, type QueueWorkerState } from './queue-worker';
export { DEFAULT_MAX_STALLED_COUNT, type QueueWorkerSettings, type ResolvedQueueWorkerSettings } from './queue-settings';
export { DEFAULT_JOB_OPTIONS, type WorkflowJobOptions } from './job-options';
export type { WaymarkJobData, StartJobData, WakeJobData, SlotJobData } from './job-data';
