export { CONTRACT_VERSION, IpAddress, IpFamily, LabelSelector, ServiceKey } from './common.js';
export {
  AllocationSnapshot,
  BgpConfigSnapshot,
  BgpPeerSecretSnapshot,
  BgpPeerSnapshot,
  EndpointsSnapshot,
  NamespaceSnapshot,
  NodeHealthSnapshot,
  NodeSnapshot,
  PeerSessionSnapshot,
  PoolSnapshot,
  RefusalReason,
  ServiceSnapshot,
  SnapshotSchemas,
} from './snapshots.js';
export {
  EventSchemas,
  EventTypes,
  L2OwnerChangedEvent,
  newEvent,
  RouteAnnouncedEvent,
  RouteChangedEvent,
  RouteWithdrawnEvent,
  VipAssignedEvent,
  VipReleasedEvent,
} from './events.js';
export type { EventName } from './events.js';
export { bounded, MESSAGE_MAX, quote, QUOTE_MAX } from './messages.js';
export { validator } from './validate.js';
export type { Checked, Validator } from './validate.js';
export { publishedSchemas, renderSchema } from './schemas.js';
export { matchesSelector } from './selector.js';
