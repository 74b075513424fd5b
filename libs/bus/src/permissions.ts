import { EventTypes, type EventName } from '@berth/contracts';
import { Buckets, EventsStream, HeartbeatSubjects } from './topology.js';

/** Who connects to the bus: one NATS user per Berth component, and one for systems outside. */
export const BusIdentities = ['watcher', 'ipam', 'route-publisher', 'node-agent', 'cli', 'events'] as const;
export type BusIdentity = (typeof BusIdentities)[number];

type BucketName = keyof typeof Buckets;

/** What one identity does on the bus; everything else is refused by the server. */
export interface BusGrant {
  /** Creates the buckets and the events stream, and sets their replicas (the only one that may). */
  readonly managesTopology: boolean;
  readonly writes: readonly BucketName[];
  readonly reads: readonly BucketName[];
  readonly publishes: readonly EventName[];
  /** Reads the events stream (live and stored), as a system outside Berth does. */
  readonly readsEvents: boolean;
  readonly heartbeats: 'send' | 'read' | 'none';
}

const grant = (g: Partial<BusGrant>): BusGrant => ({
  managesTopology: false,
  writes: [],
  reads: [],
  publishes: [],
  readsEvents: false,
  heartbeats: 'none',
  ...g,
});

/** Every bucket but the one with BGP passwords, which route-publisher alone reads. */
const allButSecrets = (Object.keys(Buckets) as BucketName[]).filter((name) => name !== 'bgpPeerSecrets');

/** The one-writer table of ARCHITECTURE.md, as the server enforces it. */
export const BusGrants: Readonly<Record<BusIdentity, BusGrant>> = {
  watcher: grant({
    managesTopology: true,
    writes: ['services', 'endpoints', 'nodes', 'namespaces', 'pools', 'bgpPeers', 'bgpPeerSecrets', 'bgpConfig'],
    reads: ['allocations', 'peerSessions'],
  }),
  ipam: grant({
    writes: ['allocations'],
    reads: ['services', 'pools', 'namespaces'],
    publishes: ['vipAssigned', 'vipReleased'],
  }),
  'route-publisher': grant({
    writes: ['peerSessions'],
    reads: [
      'allocations',
      'services',
      'endpoints',
      'nodes',
      'pools',
      'nodeHealth',
      'bgpPeers',
      'bgpPeerSecrets',
      'bgpConfig',
    ],
    publishes: ['routeAnnounced', 'routeChanged', 'routeWithdrawn'],
    heartbeats: 'read',
  }),
  'node-agent': grant({
    writes: ['nodeHealth'],
    reads: ['allocations', 'services', 'endpoints', 'nodes', 'pools'],
    publishes: ['l2OwnerChanged'],
    heartbeats: 'send',
  }),
  cli: grant({ reads: allButSecrets, heartbeats: 'read' }),
  events: grant({ readsEvents: true }),
};

/** A NATS user's permissions, as nats-server's configuration takes them. */
export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
}

/**
 * Where an identity's replies arrive. Each has its own prefix, and may subscribe there alone: with
 * the default `_INBOX.>` for everyone, any client could read every other's JetStream deliveries.
 */
export function inboxPrefix(identity: BusIdentity): string {
  return `_INBOX.${identity}`;
}

const api = '$JS.API';

/** Reading a stream through its own API: info, direct and stored gets, and consumers to follow it. */
function readStream(stream: string): string[] {
  return [
    `${api}.STREAM.INFO.${stream}`,
    `${api}.DIRECT.GET.${stream}`,
    `${api}.DIRECT.GET.${stream}.>`,
    `${api}.STREAM.MSG.GET.${stream}`,
    `${api}.CONSUMER.CREATE.${stream}`,
    `${api}.CONSUMER.CREATE.${stream}.>`,
    `${api}.CONSUMER.INFO.${stream}.>`,
    `${api}.CONSUMER.DELETE.${stream}.>`,
    // Ordered consumers answer the server's flow control.
    `$JS.FC.${stream}.>`,
  ];
}

const kvStream = (bucket: BucketName) => `KV_${Buckets[bucket].name}`;

/** The subjects `identity` may publish to and subscribe to, and no others. */
export function busPermissions(identity: BusIdentity): NatsPermissions {
  const g = BusGrants[identity];
  const publish = new Set<string>([`${api}.INFO`]);
  const subscribe = new Set<string>([`${inboxPrefix(identity)}.>`]);
  const add = (set: Set<string>, subjects: Iterable<string>) => {
    for (const subject of subjects) set.add(subject);
  };
  if (g.managesTopology) {
    for (const stream of [...(Object.keys(Buckets) as BucketName[]).map(kvStream), EventsStream.name])
      add(publish, [
        `${api}.STREAM.CREATE.${stream}`,
        `${api}.STREAM.UPDATE.${stream}`,
        `${api}.STREAM.INFO.${stream}`,
      ]);
  }
  // A writer reads back what it wrote (to reconcile after a restart).
  for (const bucket of new Set([...g.reads, ...g.writes])) add(publish, readStream(kvStream(bucket)));
  for (const bucket of g.writes) publish.add(`$KV.${Buckets[bucket].name}.>`);
  for (const event of g.publishes) publish.add(EventTypes[event].subject);
  if (g.readsEvents) {
    add(publish, readStream(EventsStream.name));
    add(publish, [
      `${api}.CONSUMER.DURABLE.CREATE.${EventsStream.name}.>`,
      `${api}.CONSUMER.MSG.NEXT.${EventsStream.name}.>`,
      `$JS.ACK.${EventsStream.name}.>`,
    ]);
    add(subscribe, EventsStream.subjects);
  }
  if (g.heartbeats === 'send') publish.add(HeartbeatSubjects.all);
  if (g.heartbeats !== 'none') subscribe.add(HeartbeatSubjects.all);
  return { publish: { allow: [...publish].sort() }, subscribe: { allow: [...subscribe].sort() } };
}
