import type { TSchema } from '@sinclair/typebox';
import { SnapshotSchemas } from '@berth/contracts';

/** A key-value bucket of snapshots: the latest state per key, with its writer named in the design. */
export interface BucketSpec<T extends { key: string }> {
  readonly name: string;
  readonly schema: TSchema & { static: T };
  /** Entries older than this disappear (stream max age); watchers are not told on NATS 2.9. */
  readonly ttlMs?: number;
}

function bucket<T extends { key: string }>(
  name: string,
  schema: TSchema & { static: T },
  ttlMs?: number,
): BucketSpec<T> {
  return ttlMs === undefined ? { name: `berth_v1_${name}`, schema } : { name: `berth_v1_${name}`, schema, ttlMs };
}

/** Every snapshot bucket on the bus. */
export const Buckets = {
  services: bucket('services', SnapshotSchemas.services),
  endpoints: bucket('endpoints', SnapshotSchemas.endpoints),
  nodes: bucket('nodes', SnapshotSchemas.nodes),
  namespaces: bucket('namespaces', SnapshotSchemas.namespaces),
  pools: bucket('pools', SnapshotSchemas.pools),
  bgpPeers: bucket('bgp_peers', SnapshotSchemas.bgpPeers),
  bgpPeerSecrets: bucket('bgp_peer_secrets', SnapshotSchemas.bgpPeerSecrets),
  bgpConfig: bucket('bgp_config', SnapshotSchemas.bgpConfig),
  allocations: bucket('allocations', SnapshotSchemas.allocations),
  // Heartbeats expire so a dead node's entry goes away by itself (readers still check `at`).
  nodeHealth: bucket('node_health', SnapshotSchemas.nodeHealth, 30_000),
  peerSessions: bucket('peer_sessions', SnapshotSchemas.peerSessions),
} as const satisfies Record<keyof typeof SnapshotSchemas, BucketSpec<{ key: string }>>;

/** The stream that keeps Berth's CloudEvents for consumers that join late. */
export const EventsStream = {
  name: 'BERTH_EVENTS_V1',
  subjects: ['berth.v1.events.>'],
  maxAgeMs: 7 * 24 * 3600 * 1000,
  /** A republished event with the same id within this window is stored once. */
  duplicateWindowMs: 2 * 60 * 1000,
} as const;

/**
 * Where node-agents' heartbeats travel live, on core NATS with no stream behind them: one subject
 * per node (node names may hold dots, so readers take everything under the prefix).
 */
export const HeartbeatSubjects = {
  prefix: 'berth.v1.heartbeats',
  of: (node: string) => `berth.v1.heartbeats.${node}`,
  all: 'berth.v1.heartbeats.>',
} as const;
