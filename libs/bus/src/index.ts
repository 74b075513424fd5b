export { busConfig } from './config.js';
export type { BusConfig } from './config.js';
export { Buckets, EventsStream } from './topology.js';
export type { BucketSpec } from './topology.js';
export { connectBus } from './bus.js';
export type { Bus, BusOptions } from './bus.js';
export type { Change, SnapshotBucket } from './snapshot-bucket.js';
export { ContractViolationError } from './errors.js';
