import { EventTypes, type EventName } from '@berth/contracts';
import { Buckets, EventsStream, HeartbeatSubjects } from './topology.js';

/** Who connects to the bus: one NATS user per Berth component, and one for systems outside. */
export const BusIdentities = ['watcher', 'ipam', 'route-publisher', 'node-agent', 'cli', 'events', 'bus-auth'] as const;
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
  /**
   * Answers the server's auth callout, vouching for node-agents (the watcher's `bus-auth`); uses
   * nothing else, JetStream included.
   */
  readonly answersAuthCallout: boolean;
}

const grant = (g: Partial<BusGrant>): BusGrant => ({
  managesTopology: false,
  writes: [],
  reads: [],
  publishes: [],
  readsEvents: false,
  heartbeats: 'none',
  answersAuthCallout: false,
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
  'bus-auth': grant({ answersAuthCallout: true }),
};

/** A NATS user's permissions, as nats-server's configuration takes them. */
export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
  /** May answer the requests it receives (on their reply subjects), and publish nothing else. */
  readonly allow_responses?: true;
}

/** Where the server asks who a connecting client is (nats-server's auth callout). */
export const AUTH_CALLOUT_SUBJECT = '$SYS.REQ.USER.AUTH';

/**
 * The node a node-agent's credential speaks for. `{node}` and `{nodeToken}` stand for it in the
 * permissions file, for a server that gives each node a user of its own from that template.
 */
export const NODE_PLACEHOLDER = { node: '{node}', nodeToken: '{nodeToken}' } as const;

/** A node's name as one subject token: node names hold dots, which would split it into several. */
export function nodeToken(node: string): string {
  return node.replaceAll('.', '_');
}

/**
 * Where an identity's replies arrive. Each has its own prefix, and may subscribe there alone: with
 * the default `_INBOX.>` for everyone, any client could read every other's JetStream deliveries.
 * A node-agent's is its node's own.
 */
export function inboxPrefix(identity: BusIdentity, node?: string): string {
  if (identity !== 'node-agent') return `_INBOX.${identity}`;
  if (node === undefined) throw new Error('a node-agent connects for one node: give its name');
  return `_INBOX.node-agent.${node === NODE_PLACEHOLDER.node ? NODE_PLACEHOLDER.nodeToken : nodeToken(node)}`;
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

/**
 * The subjects `identity` may publish to and subscribe to, and no others. A node-agent's are its
 * node's (`node`): its own heartbeat, health entry and events; without a node, the template with
 * `NODE_PLACEHOLDER`s.
 */
export function busPermissions(identity: BusIdentity, node: string = NODE_PLACEHOLDER.node): NatsPermissions {
  const g = BusGrants[identity];
  if (g.answersAuthCallout)
    return { publish: { allow: [] }, subscribe: { allow: [AUTH_CALLOUT_SUBJECT] }, allow_responses: true };
  const publish = new Set<string>([`${api}.INFO`]);
  const subscribe = new Set<string>([`${inboxPrefix(identity, node)}.>`]);
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
  // A node-agent writes its node's key alone; the others, any key of the buckets they own.
  const key = identity === 'node-agent' ? node : '>';
  for (const bucket of g.writes) publish.add(`$KV.${Buckets[bucket].name}.${key}`);
  for (const event of g.publishes) publish.add(eventSubject(event, node));
  if (g.readsEvents) {
    add(publish, readStream(EventsStream.name));
    add(publish, [
      `${api}.CONSUMER.DURABLE.CREATE.${EventsStream.name}.>`,
      `${api}.CONSUMER.MSG.NEXT.${EventsStream.name}.>`,
      `$JS.ACK.${EventsStream.name}.>`,
    ]);
    add(subscribe, EventsStream.subjects);
  }
  if (g.heartbeats === 'send') publish.add(HeartbeatSubjects.of(node));
  if (g.heartbeats !== 'none') subscribe.add(HeartbeatSubjects.all);
  return { publish: { allow: [...publish].sort() }, subscribe: { allow: [...subscribe].sort() } };
}

/** The subject `event` travels on when `node` publishes it (see `EventTypes`' `byNode`). */
export function eventSubject(event: EventName, node: string | undefined): string {
  const type = EventTypes[event];
  if (!('byNode' in type)) return type.subject;
  if (node === undefined) throw new Error(`${event} is published by a node-agent, for its node: give the node`);
  return `${type.subject}.${node}`;
}
