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
  | 'notReady'
  | 'excluded'
  | 'noHeartbeat'
  | 'staleHeartbeat'
  | 'agentUnready'
  | 'nodeSelector'
  | 'noInterface'
  | 'noEndpoint'
  | 'noAddress';

/** The health part of a blocker: undefined when the node's agent is healthy, else why it is not. */
export type HealthBlocker = (node: string) => 'noHeartbeat' | 'staleHeartbeat' | 'agentUnready' | undefined;

export const familyOf = (address: string): IpFamily => (address.includes(':') ? 'IPv6' : 'IPv4');
export const prefixOf = (vip: string, family: IpFamily = familyOf(vip)): string =>
  `${vip}/${family === 'IPv4' ? 32 : 128}`;

/** The node's address of `family` that routers reach it on: InternalIP first, then ExternalIP. */
export function nodeAddress(node: NodeSnapshot, family: IpFamily): string | undefined {
  const of = (type: 'InternalIP' | 'ExternalIP') =>
    node.addresses.find((a) => a.type === type && familyOf(a.address) === family)?.address;
  return of('InternalIP') ?? of('ExternalIP');
}

/** What a VIP asks of every node: its Services, and (ETP Local) their ready endpoints by node. */
export interface VipServices {
  readonly services: readonly ServiceSnapshot[];
  readonly endpoints: ReadonlyMap<string, EndpointsSnapshot>;
}

/** What both modes ask first: Kubernetes calls the node Ready, it is not excluded, its agent is healthy. */
function commonBlocker(node: NodeSnapshot, health: HealthBlocker): Blocker | undefined {
  if (!node.ready) return 'notReady';
  if (node.excludedFromLoadBalancers) return 'excluded';
  return health(node.key);
}

/**
 * With externalTrafficPolicy Local a node needs a ready endpoint of every such Service on the VIP,
 * so that no port of it leads to a node that would drop the traffic.
 */
function lacksLocalEndpoint(node: NodeSnapshot, vip: VipServices): boolean {
  return vip.services.some(
    (svc) => svc.externalTrafficPolicy === 'Local' && (vip.endpoints.get(svc.key)?.readyByNode[node.key] ?? 0) === 0,
  );
}

/** Why `node` is not a next hop of a BGP VIP of `family`; undefined when it is one. */
export function bgpBlocker(
  node: NodeSnapshot,
  vip: VipServices & { readonly family: IpFamily; readonly health: HealthBlocker },
): Blocker | undefined {
  return (
    commonBlocker(node, vip.health) ??
    (lacksLocalEndpoint(node, vip)
      ? 'noEndpoint'
      : nodeAddress(node, vip.family) === undefined
        ? 'noAddress'
        : undefined)
  );
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
    commonBlocker(node, vip.health) ??
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
