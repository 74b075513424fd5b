import { isIP } from 'node:net';
import type { NamespaceSnapshot, NodeSnapshot } from '@berth/contracts';
import type { KubeObject } from '@berth/kube';
import type { NodeObject } from './objects.js';
import { withRevision } from './revision.js';

/** Nodes with this label never carry load-balancer traffic (a Kubernetes convention). */
export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export function namespaceSnapshot(namespace: KubeObject): NamespaceSnapshot {
  return withRevision<NamespaceSnapshot>({
    v: 1,
    key: namespace.metadata.name,
    labels: namespace.metadata.labels ?? {},
  });
}

export function nodeSnapshot(node: NodeObject): NodeSnapshot {
  const addresses: NodeSnapshot['addresses'] = [];
  for (const { type, address } of node.status?.addresses ?? []) {
    if ((type === 'InternalIP' || type === 'ExternalIP') && isIP(address) !== 0) addresses.push({ type, address });
  }
  const labels = node.metadata.labels ?? {};
  return withRevision<NodeSnapshot>({
    v: 1,
    key: node.metadata.name,
    addresses,
    labels,
    ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    excludedFromLoadBalancers: EXCLUDE_LABEL in labels,
  });
}
