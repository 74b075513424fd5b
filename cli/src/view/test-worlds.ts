// Test support (not a test): random worlds for the property tests of the view.
import fc from 'fast-check';
import type {
  AllocationSnapshot,
  BgpPeerSnapshot,
  EndpointsSnapshot,
  NodeHealthSnapshot,
  NodeSnapshot,
  PeerSessionSnapshot,
  PoolSnapshot,
  RefusalReason,
  ServiceSnapshot,
} from '@berth/contracts';
import {
  exampleAllocation,
  exampleBgpConfig,
  exampleBgpPeer,
  exampleNode,
  examplePool,
  exampleService,
} from '@berth/contracts/examples';
import type { BusWorld, ClusterService, ClusterView, ViewSettings } from './world.js';

export const NOW = Date.parse('2026-05-01T12:00:00Z');

export const SETTINGS: ViewSettings = {
  now: NOW,
  healthTimeoutMs: 1000,
  loadBalancerClass: 'berth.dev/lb',
  defaultClass: false,
};

/** A world with nothing in it, for tests to fill. */
export function emptyWorld(): BusWorld {
  return {
    services: new Map(),
    endpoints: new Map(),
    nodes: new Map(),
    namespaces: new Map(),
    pools: new Map(),
    bgpPeers: new Map(),
    bgpConfig: undefined,
    allocations: new Map(),
    nodeHealth: new Map(),
    peerSessions: new Map(),
  };
}

export function heartbeat(node: string, ageMs: number, ready = true, interfaces = ['eth0']): NodeHealthSnapshot {
  return { v: 1, key: node, revision: '1', at: NOW - ageMs, ready, interfaces };
}

export function peer(name: string, address: string, overrides: Partial<BgpPeerSnapshot> = {}): BgpPeerSnapshot {
  return exampleBgpPeer(name, address, overrides);
}

export function session(
  peerName: string,
  speaker: string,
  state: PeerSessionSnapshot['state'],
  ageMs = 60_000,
): PeerSessionSnapshot {
  return {
    v: 1,
    key: `${peerName}/${speaker}`,
    revision: '1',
    peer: peerName,
    speaker,
    state,
    since: new Date(NOW - ageMs).toISOString(),
    prefixesAnnounced: state === 'Established' ? 1 : 0,
  };
}

export function refused(key: string, uid: string, reason: RefusalReason, message: string): AllocationSnapshot {
  return { v: 1, key, revision: '1', serviceUid: uid, result: { type: 'refused', reason, message } };
}

/** A Berth Service as the cluster shows it, with its address written. */
export function clusterService(overrides: Partial<ClusterService> = {}): ClusterService {
  return {
    type: 'LoadBalancer',
    loadBalancerClass: 'berth.dev/lb',
    deleting: false,
    ingress: [],
    addressAssigned: undefined,
    events: [],
    ...overrides,
  };
}

const NODES = ['n1', 'n2', 'n3'];
const SPEAKERS = ['central-0', ...NODES];
const SESSION_PEERS = ['r4', 'r6', 'dual', 'gone'];
const STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established', 'Unknown'] as const;
const REASONS = [
  'PoolExhausted',
  'RequestedAddressTaken',
  'RequestedAddressOutsidePools',
  'MalformedAnnotation',
  'NoPoolAllowed',
  'FamilyUnavailable',
] as const;
/** True three times in four, so both outcomes of each check are common. */
const mostly = fc.integer({ min: 0, max: 3 }).map((n) => n > 0);
const rarely = mostly.map((b) => !b);
/** True one time in eight: for what stops a Service outright. */
const seldom = fc.integer({ min: 0, max: 7 }).map((n) => n === 0);
const stateArb = fc.constantFrom(...STATES, 'Established', 'Established', 'Established', 'Established');

const nodeArb = (name: string, i: number) =>
  fc.record({
    name: fc.constant(name),
    i: fc.constant(i),
    present: mostly,
    ready: mostly,
    excluded: rarely,
    beat: fc.constantFrom('fresh', 'fresh', 'fresh', 'fresh', 'fresh', 'stale', 'unready', 'none'),
    v4: mostly,
    v6: mostly,
    zone: fc.constantFrom('a', 'b'),
    interfaces: fc.subarray(['eth0', 'eth1']),
  });

const serviceArb = fc.record({
  local: rarely,
  deleting: seldom,
  dual: rarely,
  pool: fc.constantFrom('public', 'public', 'public', 'lan', 'lan', 'gone'),
  allocation: fc.constantFrom(
    'assigned',
    'assigned',
    'assigned',
    'assigned',
    'assigned',
    'refused',
    'none',
    'namesake',
  ),
  reason: fc.constantFrom(...REASONS),
  // Any text: a sentence must survive whatever ipam writes.
  message: fc.string({ minLength: 1, maxLength: 40 }),
  outsidePool: seldom,
  shared: rarely,
  readyOn: fc.subarray(NODES),
});

export interface GeneratedCase {
  readonly world: BusWorld;
  readonly cluster: ClusterView;
  /** The Service to explain: one on the bus, or one that is not. */
  readonly key: string;
}

const clusterArb = fc.oneof(
  fc.constant<ClusterView>({ reachable: false, why: 'no kubeconfig' }),
  fc
    .record({
      exists: mostly,
      type: fc.constantFrom('LoadBalancer', 'LoadBalancer', 'ClusterIP', 'NodePort'),
      cls: fc.constantFrom<string | undefined>('berth.dev/lb', 'berth.dev/lb', 'example.com/other', undefined),
      deleting: rarely,
      condition: fc.option(
        fc.record({
          status: fc.constantFrom('True', 'False'),
          reason: fc.constantFrom(...REASONS),
          message: fc.string(),
        }),
        { nil: undefined },
      ),
      ingress: fc.subarray(['203.0.113.0', '203.0.113.1', '192.0.2.100']),
    })
    .map((c): ClusterView => ({
      reachable: true,
      poolConditions: new Map([
        ['public', [{ type: 'Valid', status: 'False', reason: 'Overlaps', message: '203.0.113.0/24 overlaps lan' }]],
      ]),
      service: c.exists
        ? clusterService({
            type: c.type,
            loadBalancerClass: c.cls,
            deleting: c.deleting,
            ingress: c.ingress,
            addressAssigned:
              c.condition === undefined ? undefined : { type: 'berth.dev/AddressAssigned', ...c.condition },
          })
        : null,
    })),
);

/** Random worlds: nodes in every state, Services in every stage, both modes, both topologies, any peers. */
export const worlds: fc.Arbitrary<GeneratedCase> = fc
  .record({
    nodes: fc.tuple(...NODES.map(nodeArb)),
    services: fc.array(serviceArb, { maxLength: 6 }),
    topology: fc.constantFrom('central', 'central', 'per-node', 'none'),
    peers: fc.record({ r4: mostly, r6: rarely, dual: mostly }),
    // A session per peer (one that is no BGPPeer too) and speaker, or none.
    sessions: fc.array(fc.option(stateArb, { nil: undefined, freq: 2 }), {
      minLength: SESSION_PEERS.length * SPEAKERS.length,
      maxLength: SESSION_PEERS.length * SPEAKERS.length,
    }),
    lanInterfaces: fc.constantFrom<string[]>([], [], ['eth1']),
    lanZone: rarely,
    malformedPool: rarely,
    cluster: clusterArb,
    pick: fc.nat(),
  })
  .map((g): GeneratedCase => {
    const nodes = new Map<string, NodeSnapshot>();
    const nodeHealth = new Map<string, NodeHealthSnapshot>();
    for (const n of g.nodes) {
      if (!n.present) continue;
      const addresses = [...(n.v4 ? [`192.0.2.${11 + n.i}`] : []), ...(n.v6 ? [`2001:db8::${11 + n.i}`] : [])];
      nodes.set(
        n.name,
        exampleNode(n.name, addresses, {
          ready: n.ready,
          excludedFromLoadBalancers: n.excluded,
          labels: { zone: n.zone },
        }),
      );
      if (n.beat !== 'none')
        nodeHealth.set(n.name, heartbeat(n.name, n.beat === 'stale' ? 5000 : 100, n.beat !== 'unready', n.interfaces));
    }
    const pools = new Map<string, PoolSnapshot>([
      ['public', examplePool('public', ['203.0.113.0/24', '2001:db8:1::/120'])],
      [
        'lan',
        examplePool('lan', ['192.0.2.100-192.0.2.120'], {
          mode: 'layer2',
          layer2: {
            interfaces: g.lanInterfaces,
            ...(g.lanZone ? { nodeSelector: { matchLabels: { zone: 'a' } } } : {}),
          },
        }),
      ],
    ]);
    if (g.malformedPool) pools.set('odd', examplePool('odd', ['not-an-address']));
    const services = new Map<string, ServiceSnapshot>();
    const endpoints = new Map<string, EndpointsSnapshot>();
    const allocations = new Map<string, AllocationSnapshot>();
    g.services.forEach((s, i) => {
      const svc = exampleService(i, 'shop', {
        externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
        deleting: s.deleting,
      });
      services.set(svc.key, svc);
      endpoints.set(svc.key, {
        v: 1,
        key: svc.key,
        revision: '1',
        readyByNode: Object.fromEntries(s.readyOn.map((n) => [n, 1])),
      });
      const n = s.shared ? 0 : i;
      const layer2 = s.pool === 'lan';
      const addresses = layer2
        ? [`192.0.2.${100 + n}`, ...(s.dual ? [`2001:db8:2::${n}`] : [])]
        : [`203.0.113.${n}`, ...(s.dual ? [`2001:db8:1::${n}`] : [])];
      if (s.allocation === 'refused') allocations.set(svc.key, refused(svc.key, svc.uid, s.reason, s.message));
      else if (s.allocation !== 'none') {
        const allocation = exampleAllocation(
          svc.key,
          s.allocation === 'namesake' ? 'older' : svc.uid,
          s.pool,
          addresses,
          layer2 ? 'layer2' : 'bgp',
        );
        if (s.outsidePool && allocation.result.type === 'assigned') allocation.result.outsidePool = true;
        allocations.set(svc.key, allocation);
      }
    });
    const peerAddresses = { r4: '192.0.2.254', r6: '2001:db8::254', dual: '192.0.2.253' } as const;
    const bgpPeers = new Map(
      (['r4', 'r6', 'dual'] as const)
        .filter((name) => g.peers[name])
        .map((name) => [name, peer(name, peerAddresses[name], name === 'dual' ? { families: ['IPv4', 'IPv6'] } : {})]),
    );
    const peerSessions = new Map<string, PeerSessionSnapshot>();
    SESSION_PEERS.forEach((peerName, p) =>
      SPEAKERS.forEach((speaker, k) => {
        const state = g.sessions[p * SPEAKERS.length + k];
        if (state !== undefined) peerSessions.set(`${peerName}/${speaker}`, session(peerName, speaker, state));
      }),
    );
    const keys = [...services.keys(), 'shop/absent'];
    return {
      world: {
        services,
        endpoints,
        nodes,
        namespaces: new Map(),
        pools,
        bgpPeers,
        bgpConfig: g.topology === 'none' ? undefined : exampleBgpConfig({ topology: g.topology }),
        allocations,
        nodeHealth,
        peerSessions,
      },
      cluster: g.cluster,
      key: keys[g.pick % keys.length] ?? 'shop/absent',
    };
  });
