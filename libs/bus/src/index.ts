export { busConfig, nodeHealthConfig } from './config.js';
export type { BusConfig } from './config.js';
export { Buckets, EventsStream, HeartbeatSubjects } from './topology.js';
export type { BucketSpec } from './topology.js';
export { BUS_RETURN_GRACE_MS, connectBus, connectNats, createTopology } from './bus.js';
export type { Bus, BusOptions } from './bus.js';
export type { Change, SnapshotBucket } from './snapshot-bucket.js';
export { ContractViolationError } from './errors.js';
export { BucketFollower, followServing, into, servingSnapshots } from './follow.js';
export type { Apply, ServingSnapshots } from './follow.js';
export {
  AUTH_CALLOUT_SUBJECT,
  BusGrants,
  BusIdentities,
  busPermissions,
  eventSubject,
  inboxPrefix,
  NODE_PLACEHOLDER,
  nodeToken,
} from './permissions.js';
export type { BusGrant, BusIdentity, NatsPermissions } from './permissions.js';
