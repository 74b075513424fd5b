import type { HealthReason } from './health.js';
import {
  matchesSelector,
  type EndpointsSnapshot,
  type IpFamily,
  type NodeSnapshot,
  type PoolSnapshot,
  type ServiceSnapshot,
} from '@berth/contracts';

/** Why one node does not serve a VIP. */
export type Blocker =
  'notReady' | 'excluded' | HealthReason | 'nodeSelector' | 'noInterface' | 'noEndpoint' | 'noAddress';

/** The health part of a blocker: undefined when the node's agent is healthy, else why it is not. */
export type HealthBlocker = (node: string) => HealthReason | undefined;

/** The health part for deciders that are handed only the healthy nodes. */
export const healthyOnly =
  (healthy: ReadonlyMap<string, unknown>): HealthBlocker =>
  (node) =>
    healthy.has(node) ? undefined : 'agentUnready';

export const familyOf = (address: string): IpFamily => (address.includes(':') ? 'IPv6' : 'IPv4');
export const prefixOf = (vip: string, family: IpFamily = familyOf(vip)): string =>
  `${vip}/${family === 'IPv4' ? 32 : 128}`;

/** Snapshots are never changed, only replaced: each one's addresses are worked out once, not per VIP. */
const addresses = new WeakMap<NodeSnapshot, Record<IpFamily, string | undefined>>();

/** The node's address of `family` that routers reach it on: InternalIP first, then ExternalIP. */
export function nodeAddress(node: NodeSnapshot, family: IpFamily): string | undefined {
  let known = addresses.get(node);
  if (known === undefined) {
    const of = (wanted: IpFamily, type: 'InternalIP' | 'ExternalIP') =>
      node.addresses.find((a) => a.type === type && familyOf(a.address) === wanted)?.address;
    known = {
      IPv4: of('IPv4', 'InternalIP') ?? of('IPv4', 'ExternalIP'),
      IPv6: of('IPv6', 'InternalIP') ?? of('IPv6', 'ExternalIP'),
    };
    addresses.set(node, known);
  }
  return known[family];
}

/** What a VIP's Services ask of every node: for each with externalTrafficPolicy Local, its ready endpoints by node. */
export interface VipServices {
  readonly localReady: readonly Readonly<Record<string, number>>[];
}

/** What the Services on one VIP ask of every node; made once per VIP, asked once per node. */
export function vipServices(
  services: readonly ServiceSnapshot[],
  endpoints: ReadonlyMap<string, EndpointsSnapshot>,
): VipServices {
  const localReady = [];
  for (const svc of services)
    if (svc.externalTrafficPolicy === 'Local') localReady.push(endpoints.get(svc.key)?.readyByNode ?? {});
  return { localReady };
}

/** What both modes ask first: Kubernetes calls the node Ready, it is not excluded, its agent is healthy. */
export function nodeBlocker(node: NodeSnapshot, health: HealthBlocker): Blocker | undefined {
  if (!node.ready) return 'notReady';
  if (node.excludedFromLoadBalancers) return 'excluded';
  return health(node.key);
}

/**
 * With externalTrafficPolicy Local a node needs a ready endpoint of every such Service on the VIP,
 * so that no port of it leads to a node that would drop the traffic.
 */
function lacksLocalEndpoint(node: NodeSnapshot, vip: VipServices): boolean {
  for (const ready of vip.localReady) if ((ready[node.key] ?? 0) === 0) return true;
  return false;
}

/** What a BGP VIP of `family` asks of a node that `nodeBlocker` lets serve. */
export function bgpVipBlocker(
  node: NodeSnapshot,
  vip: VipServices & { readonly family: IpFamily },
): Blocker | undefined {
  if (lacksLocalEndpoint(node, vip)) return 'noEndpoint';
  return nodeAddress(node, vip.family) === undefined ? 'noAddress' : undefined;
}

/** Why `node` is not a next hop of a BGP VIP of `family`; undefined when it is one. */
export function bgpBlocker(
  node: NodeSnapshot,
  vip: VipServices & { readonly family: IpFamily; readonly health: HealthBlocker },
): Blocker | undefined {
  return nodeBlocker(node, vip.health) ?? bgpVipBlocker(node, vip);
}

/**
 * Why `node` may not answer for a layer-2 VIP of `pool`; undefined when it may. `interfaces`:
 * those its agent said it can answer on.
 */
export function layer2Blocker(
  node: NodeSnapshot,
  vip: VipServices & {
    readonly pool: PoolSnapshot | undefined;
    readonly health: HealthBlocker;
    readonly interfaces: readonly string[];
  },
): Blocker | undefined {
  const wanted = vip.pool?.layer2?.interfaces ?? [];
  return (
    nodeBlocker(node, vip.health) ??
    (!matchesSelector(vip.pool?.layer2?.nodeSelector, node.labels)
      ? 'nodeSelector'
      : wanted.length > 0 && !wanted.some((name) => vip.interfaces.includes(name))
        ? 'noInterface'
        : lacksLocalEndpoint(node, vip)
          ? 'noEndpoint'
          : undefined)
  );
}

/** Nodes by name, so every decider walks them in the same order. */
export function byName(nodes: Iterable<NodeSnapshot>): NodeSnapshot[] {
  return [...nodes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
