import type {
  AllocationSnapshot,
  EndpointsSnapshot,
  IpFamily,
  NodeSnapshot,
  PoolSnapshot,
  ServiceSnapshot,
} from '@berth/contracts';

/** Everything the routes depend on, as last read from the bus. */
export interface RouteInputs {
  readonly allocations: ReadonlyMap<string, AllocationSnapshot>;
  readonly services: ReadonlyMap<string, ServiceSnapshot>;
  readonly endpoints: ReadonlyMap<string, EndpointsSnapshot>;
  readonly nodes: ReadonlyMap<string, NodeSnapshot>;
  readonly pools: ReadonlyMap<string, PoolSnapshot>;
  /** Nodes whose node-agent heartbeat is fresh and ready (see `NodeHealth`). */
  readonly healthyNodes: ReadonlySet<string>;
}

export interface NextHop {
  readonly node: string;
  readonly address: string;
}

/** One VIP's route as the upstream routers must learn it. */
export interface DesiredRoute {
  /** `<vip>/32` or `<vip>/128`. */
  readonly prefix: string;
  readonly vip: string;
  readonly family: IpFamily;
  /** One per serving node, sorted by node name. */
  readonly nextHops: readonly NextHop[];
  readonly communities: readonly string[];
  readonly localPref?: number;
  /** The Service it is for; of Services sharing the VIP, the first by key. */
  readonly service: string;
  readonly serviceUid: string;
  readonly pool: string;
}

export const familyOf = (address: string): IpFamily => (address.includes(':') ? 'IPv6' : 'IPv4');

/** The node's address of `family` that routers reach it on: InternalIP first, then ExternalIP. */
export function nodeAddress(node: NodeSnapshot, family: IpFamily): string | undefined {
  const of = (type: 'InternalIP' | 'ExternalIP') =>
    node.addresses.find((a) => a.type === type && familyOf(a.address) === family)?.address;
  return of('InternalIP') ?? of('ExternalIP');
}

/**
 * The routes for every BGP-mode VIP: one next hop per serving node. A node serves when
 * Kubernetes calls it Ready, it is not excluded from load balancers, its node-agent is healthy,
 * it has an address of the VIP's family, and (for `externalTrafficPolicy: Local`) it runs a ready
 * endpoint of the Service — of every Service on the VIP, when several share it, so that no port
 * of it leads to a node that would drop the traffic (layer 2 elects owners by the same rule).
 * A VIP that no node serves gets no route.
 */
export function desiredRoutes(inputs: RouteInputs): Map<string, DesiredRoute> {
  const serving = [...inputs.nodes.values()]
    .filter((n) => n.ready && !n.excludedFromLoadBalancers && inputs.healthyNodes.has(n.key))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const routes = new Map<string, DesiredRoute>();
  // Shared VIPs that some Service on them can be served nowhere: no route, whatever the others say.
  const unserved = new Set<string>();
  for (const allocation of inputs.allocations.values()) {
    const { result } = allocation;
    if (result.type !== 'assigned' || result.mode !== 'bgp') continue;
    const svc = inputs.services.get(allocation.key);
    if (svc === undefined || svc.deleting || svc.uid !== allocation.serviceUid) continue;
    const local = svc.externalTrafficPolicy === 'Local';
    const ready = inputs.endpoints.get(allocation.key)?.readyByNode ?? {};
    const bgp = inputs.pools.get(result.pool)?.bgp;
    for (const vip of result.addresses) {
      const family = familyOf(vip);
      const nextHops: NextHop[] = [];
      for (const node of serving) {
        if (local && (ready[node.key] ?? 0) === 0) continue;
        const address = nodeAddress(node, family);
        if (address !== undefined) nextHops.push({ node: node.key, address });
      }
      const prefix = `${vip}/${family === 'IPv4' ? 32 : 128}`;
      if (unserved.has(prefix)) continue;
      const sharer = routes.get(prefix);
      const hops =
        sharer === undefined ? nextHops : sharer.nextHops.filter((h) => nextHops.some((n) => n.node === h.node));
      if (hops.length === 0) {
        routes.delete(prefix);
        unserved.add(prefix);
        continue;
      }
      const first = sharer !== undefined && sharer.service < allocation.key ? sharer : undefined;
      routes.set(prefix, {
        prefix,
        vip,
        family,
        nextHops: hops,
        communities: [...(bgp?.communities ?? [])].sort(),
        ...(bgp?.localPref === undefined ? {} : { localPref: bgp.localPref }),
        service: first?.service ?? allocation.key,
        serviceUid: first?.serviceUid ?? allocation.serviceUid,
        pool: result.pool,
      });
    }
  }
  return routes;
}
