import type { PoolSnapshot, ServiceSnapshot } from './snapshots.js';

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
