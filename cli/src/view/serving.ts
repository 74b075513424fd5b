import type { IpFamily, NodeSnapshot, PoolSnapshot, ServiceSnapshot } from '@berth/contracts';
import {
  bgpBlocker,
  byName,
  desiredRoutes,
  electOwners,
  layer2Blocker,
  liveAllocations,
  NodeHealth,
  type Blocker,
  type DesiredRoute,
  type HealthBlocker,
  type L2Owner,
  vipServices,
} from '@berth/serving';
import type { BusWorld, ViewSettings } from './world.js';

/**
 * Who serves each VIP, decided by the very functions route-publisher (next hops) and node-agent
 * (layer-2 owner) run, on the snapshots as berth read them.
 */
export interface Serving {
  /** Why a node's agent is not healthy as route-publisher judges it; undefined when it is. */
  readonly routeHealth: HealthBlocker;
  /** The same as the node-agents judge it, for layer-2 owners. */
  readonly ownerHealth: HealthBlocker;
  /** BGP routes by prefix (`<vip>/32` or `<vip>/128`); a VIP no node serves has none. */
  readonly routes: ReadonlyMap<string, DesiredRoute>;
  /** Layer-2 owners by VIP; `node` is undefined when no node is eligible. */
  readonly owners: ReadonlyMap<string, L2Owner>;
}

/**
 * The heartbeats stored on the bus, judged with the services' own view. route-publisher judges at
 * the moment it looks, replaying stored heartbeats from when they were written; so does berth for
 * next hops. An agent judges as of its own heartbeat's last return; berth takes the newest
 * heartbeat on the bus as that echo, for owners, while it is fresh (when none is, no agent is
 * judging at all, and berth falls back on route-publisher's view: everyone is silent).
 */
export function serving(world: BusWorld, settings: ViewSettings): Serving {
  const { now, healthTimeoutMs } = settings;
  const asRoutePublisher = new NodeHealth(healthTimeoutMs, { kind: 'local' });
  for (const [node, beat] of world.nodeHealth) asRoutePublisher.record(node, beat, now, true);
  const beats = [...world.nodeHealth].sort(([, a], [, b]) => a.at - b.at);
  const newest = beats.at(-1)?.[0];
  const asAgent = new NodeHealth(healthTimeoutMs, { kind: 'echo', self: newest ?? '' });
  for (const [node, beat] of beats) asAgent.record(node, beat, Math.min(now, beat.at), false);
  const asAgents = asAgent.current(now) ? asAgent : asRoutePublisher;
  return {
    routeHealth: (node) => asRoutePublisher.reason(node, now),
    ownerHealth: (node) => asAgents.reason(node, now),
    routes: desiredRoutes({ ...world, healthy: asRoutePublisher.healthy(now) }),
    owners: electOwners({ ...world, healthy: asAgents.healthy(now) }),
  };
}

/** The Services on the bus that hold `vip` through an assigned allocation (several with a sharing key). */
export function sharers(world: BusWorld, vip: string): ServiceSnapshot[] {
  return liveAllocations(world)
    .filter((a) => a.result.addresses.includes(vip))
    .map((a) => a.service);
}

export interface NodeBlocker {
  readonly node: string;
  readonly blocker: Blocker;
}

/** Each node's blocker, by name, leaving out the nodes that have none. */
function blockers(world: BusWorld, blockerOf: (node: NodeSnapshot) => Blocker | undefined): NodeBlocker[] {
  const found: NodeBlocker[] = [];
  for (const node of byName(world.nodes.values())) {
    const blocker = blockerOf(node);
    if (blocker !== undefined) found.push({ node: node.key, blocker });
  }
  return found;
}

/** Why each node is not a next hop of a BGP VIP shared by `services` (nodes that are, left out): route-publisher's rule. */
export function bgpBlockers(
  world: BusWorld,
  serving: Serving,
  services: readonly ServiceSnapshot[],
  family: IpFamily,
): NodeBlocker[] {
  const asks = vipServices(services, world.endpoints);
  return blockers(world, (node) => bgpBlocker(node, { ...asks, family, health: serving.routeHealth }));
}

/** Why each node may not answer for a layer-2 VIP shared by `services` (nodes that may, left out): node-agent's rule. */
export function layer2Blockers(
  world: BusWorld,
  serving: Serving,
  pool: PoolSnapshot | undefined,
  services: readonly ServiceSnapshot[],
): NodeBlocker[] {
  const asks = vipServices(services, world.endpoints);
  return blockers(world, (node) =>
    layer2Blocker(node, {
      ...asks,
      pool,
      health: serving.ownerHealth,
      interfaces: world.nodeHealth.get(node.key)?.interfaces ?? [],
    }),
  );
}
