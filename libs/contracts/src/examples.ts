import type {
  AllocationSnapshot,
  BgpConfigSnapshot,
  BgpPeerSnapshot,
  NodeSnapshot,
  PoolSnapshot,
  ServiceSnapshot,
} from './snapshots.js';

/**
 * Valid example messages, for tests and benchmarks: a Service `s<i>` in namespace `ns` asking for
 * one IPv6 address, and an IPv6 pool. Overrides change any field.
 */
export function exampleService(i: number, ns = 'load', overrides: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  return {
    v: 1,
    key: `${ns}/s${i}`,
    revision: '1',
    uid: `uid-${i}`,
    namespace: ns,
    name: `s${i}`,
    labels: {},
    annotations: {},
    ipFamilies: ['IPv6'],
    ipFamilyPolicy: 'SingleStack',
    externalTrafficPolicy: 'Cluster',
    ports: [{ protocol: 'TCP', port: 80 }],
    ingress: [],
    deleting: false,
    ...overrides,
  };
}

export function examplePool(key: string, addresses: string[], overrides: Partial<PoolSnapshot> = {}): PoolSnapshot {
  return {
    v: 1,
    key,
    revision: '1',
    addresses,
    mode: 'bgp',
    autoAssign: true,
    priority: 0,
    namespaces: [],
    avoidBuggyIPs: false,
    ...overrides,
  };
}

/** A Ready node with these InternalIP addresses. */
export function exampleNode(name: string, addresses: string[], overrides: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    v: 1,
    key: name,
    revision: '1',
    addresses: addresses.map((address) => ({ type: 'InternalIP', address })),
    labels: { 'kubernetes.io/hostname': name },
    ready: true,
    excludedFromLoadBalancers: false,
    ...overrides,
  };
}

/** ipam's lease of `addresses` from `pool` to the Service `key` (UID `uid`). */
export function exampleAllocation(
  key: string,
  uid: string,
  pool: string,
  addresses: string[],
  mode: 'bgp' | 'layer2' = 'bgp',
): AllocationSnapshot {
  return { v: 1, key, revision: '1', serviceUid: uid, result: { type: 'assigned', pool, mode, addresses } };
}

/** BGPConfig `default`: AS 64512, the central topology, no BGP port (tests open none). */
export function exampleBgpConfig(overrides: Partial<BgpConfigSnapshot> = {}): BgpConfigSnapshot {
  return {
    v: 1,
    key: 'default',
    revision: '1',
    asn: 64512,
    listenPort: -1,
    topology: 'central',
    gracefulRestart: false,
    ...overrides,
  };
}

/** A BGPPeer at `address` (AS 65000, ADD-PATH), carrying the address's own family. */
export function exampleBgpPeer(
  name: string,
  address: string,
  overrides: Partial<BgpPeerSnapshot> = {},
): BgpPeerSnapshot {
  return {
    v: 1,
    key: name,
    revision: '1',
    peerAddress: address,
    peerASN: 65000,
    myASN: 64512,
    port: 179,
    holdTimeSeconds: 9,
    keepaliveTimeSeconds: 3,
    tcpMd5: false,
    families: [address.includes(':') ? 'IPv6' : 'IPv4'],
    addPath: true,
    ...overrides,
  };
}
