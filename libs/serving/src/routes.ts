import type { IpFamily } from '@berth/contracts';
import {
  bgpVipBlocker,
  byName,
  familyOf,
  healthyOnly,
  nodeAddress,
  nodeBlocker,
  prefixOf,
  vipServices,
} from './blockers.js';
import { liveAllocations, type DecisionInputs } from './inputs.js';

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

/**
 * The routes for every BGP-mode VIP: one next hop per node that `bgpBlocker` lets serve it (its
 * node part judged once per pass, as it is the same for every VIP), for
 * every Service on the VIP when several share it (layer 2 elects owners by the same rule). A VIP
 * that no node serves gets no route.
 */
export function desiredRoutes(inputs: DecisionInputs): Map<string, DesiredRoute> {
  const health = healthyOnly(inputs.healthy);
  const nodes = byName(inputs.nodes.values()).filter((node) => nodeBlocker(node, health) === undefined);
  const routes = new Map<string, DesiredRoute>();
  // Shared VIPs that some Service on them can be served nowhere: no route, whatever the others say.
  const unserved = new Set<string>();
  for (const { key, result, service } of liveAllocations(inputs, 'bgp')) {
    const bgp = inputs.pools.get(result.pool)?.bgp;
    const { localReady } = vipServices([service], inputs.endpoints);
    for (const vip of result.addresses) {
      const family = familyOf(vip);
      const asked = { localReady, family };
      const nextHops: NextHop[] = [];
      for (const node of nodes) {
        const address = nodeAddress(node, family);
        if (address !== undefined && bgpVipBlocker(node, asked) === undefined)
          nextHops.push({ node: node.key, address });
      }
      const prefix = prefixOf(vip, family);
      if (unserved.has(prefix)) continue;
      const sharer = routes.get(prefix);
      const hops =
        sharer === undefined ? nextHops : sharer.nextHops.filter((h) => nextHops.some((n) => n.node === h.node));
      if (hops.length === 0) {
        routes.delete(prefix);
        unserved.add(prefix);
        continue;
      }
      const first = sharer !== undefined && sharer.service < key ? sharer : undefined;
      routes.set(prefix, {
        prefix,
        vip,
        family,
        nextHops: hops,
        communities: [...(bgp?.communities ?? [])].sort(),
        ...(bgp?.localPref === undefined ? {} : { localPref: bgp.localPref }),
        service: first?.service ?? key,
        serviceUid: first?.serviceUid ?? service.uid,
        pool: result.pool,
      });
    }
  }
  return routes;
}
