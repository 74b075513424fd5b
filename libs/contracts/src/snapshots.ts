import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import {
  CONTRACT_VERSION,
  IpAddress,
  IpFamily,
  LabelSelector,
  ObjectName,
  Revision,
  ServiceKey,
  StringMap,
} from './common.js';

/** Every snapshot: the whole current state of one key, level-triggered. */
function snapshot<K extends TSchema, P extends TProperties>(id: string, key: K, properties: P) {
  return Type.Object(
    {
      v: Type.Literal(CONTRACT_VERSION),
      key,
      revision: Revision,
      ...properties,
    },
    { $id: id, additionalProperties: false },
  );
}

const Protocol = Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')]);

/** A Service of type LoadBalancer that is Berth's, as the watcher sees it. */
export const ServiceSnapshot = snapshot('ServiceSnapshot', ServiceKey, {
  uid: Type.String({ minLength: 1 }),
  namespace: ObjectName,
  name: ObjectName,
  labels: StringMap,
  /**
   * Only the annotations Berth reads (`berth.dev/*`, and MetalLB's and OpenELB's for users moving
   * over), so unrelated edits cause no traffic.
   */
  annotations: StringMap,
  ipFamilies: Type.Array(IpFamily, { maxItems: 2 }),
  ipFamilyPolicy: Type.Union([
    Type.Literal('SingleStack'),
    Type.Literal('PreferDualStack'),
    Type.Literal('RequireDualStack'),
  ]),
  externalTrafficPolicy: Type.Union([Type.Literal('Cluster'), Type.Literal('Local')]),
  loadBalancerIP: Type.Optional(IpAddress),
  ports: Type.Array(
    Type.Object(
      { protocol: Protocol, port: Type.Integer({ minimum: 1, maximum: 65535 }) },
      { additionalProperties: false },
    ),
  ),
  selector: Type.Optional(StringMap),
  /** Addresses already in `status.loadBalancer.ingress`, so ipam can rebuild lost leases. */
  ingress: Type.Array(IpAddress),
  /** True once the Service has a deletionTimestamp: its address must be released. */
  deleting: Type.Boolean(),
});
export type ServiceSnapshot = Static<typeof ServiceSnapshot>;

/** The ready endpoints of one Service folded per node (key: the Service's key). */
export const EndpointsSnapshot = snapshot('EndpointsSnapshot', ServiceKey, {
  /** Node name → number of ready endpoints of the Service on that node. */
  readyByNode: Type.Record(ObjectName, Type.Integer({ minimum: 1 })),
});
export type EndpointsSnapshot = Static<typeof EndpointsSnapshot>;

/** A Kubernetes Node (key: its name). */
export const NodeSnapshot = snapshot('NodeSnapshot', ObjectName, {
  addresses: Type.Array(
    Type.Object(
      {
        type: Type.Union([Type.Literal('InternalIP'), Type.Literal('ExternalIP')]),
        address: IpAddress,
      },
      { additionalProperties: false },
    ),
  ),
  labels: StringMap,
  ready: Type.Boolean(),
  /** The node carries `node.kubernetes.io/exclude-from-external-load-balancers`. */
  excludedFromLoadBalancers: Type.Boolean(),
});
export type NodeSnapshot = Static<typeof NodeSnapshot>;

/** A Namespace's labels (key: its name), for IPPool `namespaceSelector`s. */
export const NamespaceSnapshot = snapshot('NamespaceSnapshot', ObjectName, {
  labels: StringMap,
});
export type NamespaceSnapshot = Static<typeof NamespaceSnapshot>;

/** An IPPool's spec (key: the pool's name). */
export const PoolSnapshot = snapshot('PoolSnapshot', ObjectName, {
  /** CIDRs, `first-last` ranges or single addresses; IPv4 and IPv6 mixed. */
  addresses: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  mode: Type.Union([Type.Literal('bgp'), Type.Literal('layer2')]),
  autoAssign: Type.Boolean(),
  priority: Type.Integer(),
  namespaces: Type.Array(ObjectName),
  namespaceSelector: Type.Optional(LabelSelector),
  serviceSelector: Type.Optional(LabelSelector),
  avoidBuggyIPs: Type.Boolean(),
  bgp: Type.Optional(
    Type.Object(
      {
        communities: Type.Array(Type.String({ pattern: '^\\d{1,5}:\\d{1,5}$' })),
        localPref: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
        peers: Type.Array(ObjectName),
      },
      { additionalProperties: false },
    ),
  ),
  layer2: Type.Optional(
    Type.Object(
      { interfaces: Type.Array(Type.String({ minLength: 1 })), nodeSelector: Type.Optional(LabelSelector) },
      { additionalProperties: false },
    ),
  ),
  /** Set when the pool hands out nothing: its addresses overlap an older pool's, which keeps them. */
  refusal: Type.Optional(
    Type.Object(
      { reason: Type.Literal('Overlaps'), message: Type.String({ minLength: 1, maxLength: 1024 }) },
      { additionalProperties: false },
    ),
  ),
});
export type PoolSnapshot = Static<typeof PoolSnapshot>;

const Asn = Type.Integer({ minimum: 1, maximum: 4294967295 });

/**
 * A BGPPeer (key: its name). Its TCP-MD5 password is not here: every identity that reads peers may
 * read this, so the password travels in `BgpPeerSecretSnapshot`, which route-publisher alone reads.
 */
export const BgpPeerSnapshot = snapshot('BgpPeerSnapshot', ObjectName, {
  peerAddress: IpAddress,
  peerASN: Asn,
  myASN: Asn,
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  /** 0 means no keepalives (RFC 4271); otherwise at least 3 s. */
  holdTimeSeconds: Type.Union([Type.Literal(0), Type.Integer({ minimum: 3, maximum: 65535 })]),
  /** 0 exactly when the hold time is 0. */
  keepaliveTimeSeconds: Type.Integer({ minimum: 0, maximum: 21845 }),
  /** The session is signed with TCP-MD5: no session until its `BgpPeerSecretSnapshot` is there. */
  tcpMd5: Type.Boolean(),
  ebgpMultihop: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
  nodeSelector: Type.Optional(LabelSelector),
  families: Type.Array(IpFamily, { minItems: 1, maxItems: 2 }),
  addPath: Type.Boolean(),
});
export type BgpPeerSnapshot = Static<typeof BgpPeerSnapshot>;

/** A BGPPeer's TCP-MD5 password (key: the peer's name), resolved from its Secret by the watcher. */
export const BgpPeerSecretSnapshot = snapshot('BgpPeerSecretSnapshot', ObjectName, {
  password: Type.String({ minLength: 1, maxLength: 80 }),
});
export type BgpPeerSecretSnapshot = Static<typeof BgpPeerSecretSnapshot>;

/** The single BGPConfig `default` (key: `default`). */
export const BgpConfigSnapshot = snapshot('BgpConfigSnapshot', Type.Literal('default'), {
  asn: Asn,
  routerId: Type.Optional(Type.String({ format: 'ipv4' })),
  listenPort: Type.Integer({ minimum: -1, maximum: 65535 }),
  topology: Type.Union([Type.Literal('central'), Type.Literal('per-node')]),
  gracefulRestart: Type.Boolean(),
});
export type BgpConfigSnapshot = Static<typeof BgpConfigSnapshot>;

/** Why ipam could not give a Service an address; each becomes a condition reason and an Event. */
export const RefusalReason = Type.Union([
  Type.Literal('PoolExhausted'),
  Type.Literal('RequestedAddressTaken'),
  Type.Literal('RequestedAddressOutsidePools'),
  Type.Literal('MalformedAnnotation'),
  Type.Literal('NoPoolAllowed'),
  Type.Literal('FamilyUnavailable'),
]);
export type RefusalReason = Static<typeof RefusalReason>;

/** ipam's decision for one Service (key: the Service's key). */
export const AllocationSnapshot = snapshot('AllocationSnapshot', ServiceKey, {
  serviceUid: Type.String({ minLength: 1 }),
  result: Type.Union([
    Type.Object(
      {
        type: Type.Literal('assigned'),
        pool: ObjectName,
        mode: Type.Union([Type.Literal('bgp'), Type.Literal('layer2')]),
        addresses: Type.Array(IpAddress, { minItems: 1, maxItems: 2 }),
        /** Set when a pool edit left the lease outside every pool; the lease stays. */
        outsidePool: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { type: Type.Literal('refused'), reason: RefusalReason, message: Type.String({ minLength: 1 }) },
      { additionalProperties: false },
    ),
  ]),
});
export type AllocationSnapshot = Static<typeof AllocationSnapshot>;

/** A node-agent's heartbeat (key: node name); stale when `at` is older than the agreed timeout. */
export const NodeHealthSnapshot = snapshot('NodeHealthSnapshot', ObjectName, {
  /** Milliseconds since the epoch when the agent last saw its node healthy. */
  at: Type.Integer({ minimum: 0 }),
  ready: Type.Boolean(),
  interfaces: Type.Array(Type.String({ minLength: 1 })),
});
export type NodeHealthSnapshot = Static<typeof NodeHealthSnapshot>;

/**
 * One BGP session as one speaker sees it (key: `<BGPPeer name>/<speaker>`), written by
 * route-publisher; the watcher folds these into BGPPeer status.
 */
export const PeerSessionSnapshot = snapshot(
  'PeerSessionSnapshot',
  Type.String({ minLength: 3, maxLength: 507, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[^/]+$' }),
  {
    peer: ObjectName,
    /** The node (per-node topology) or instance (central) that holds the session. */
    speaker: Type.String({ minLength: 1, maxLength: 253 }),
    state: Type.Union([
      Type.Literal('Idle'),
      Type.Literal('Connect'),
      Type.Literal('Active'),
      Type.Literal('OpenSent'),
      Type.Literal('OpenConfirm'),
      Type.Literal('Established'),
      Type.Literal('Unknown'),
    ]),
    /** When the session entered this state (RFC 3339). */
    since: Type.String({ format: 'date-time' }),
    prefixesAnnounced: Type.Integer({ minimum: 0 }),
    message: Type.Optional(Type.String({ maxLength: 1024 })),
  },
);
export type PeerSessionSnapshot = Static<typeof PeerSessionSnapshot>;

/** Every snapshot schema by the kind it describes; the bus keeps one bucket per kind. */
export const SnapshotSchemas = {
  services: ServiceSnapshot,
  endpoints: EndpointsSnapshot,
  nodes: NodeSnapshot,
  namespaces: NamespaceSnapshot,
  pools: PoolSnapshot,
  bgpPeers: BgpPeerSnapshot,
  bgpPeerSecrets: BgpPeerSecretSnapshot,
  bgpConfig: BgpConfigSnapshot,
  allocations: AllocationSnapshot,
  nodeHealth: NodeHealthSnapshot,
  peerSessions: PeerSessionSnapshot,
} as const;
