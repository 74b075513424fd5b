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
  /** Why a node's agent is not healthy, as route-publisher and the node-agents judge it; undefined when it is. */
  readonly health: HealthBlocker;
  /** BGP routes by prefix (`<vip>/32` or `<vip>/128`); a VIP no node serves has none. */
  readonly routes: ReadonlyMap<string, DesiredRoute>;
  /** Layer-2 owners by VIP; `node` is undefined when no node is eligible. */
  readonly owners: ReadonlyMap<string, L2Owner>;
}

/**
 * The heartbeats stored on the bus, judged as route-publisher and the agents judge them: as of
 * the newest heartbeat to arrive (an agent, as of its own; the newest on the bus is the nearest
 * berth can tell), each counted from when it was written, never from the future. When everyone
 * is silent the view is frozen there, as theirs is: nobody is declared dead.
 */
export function serving(world: BusWorld, settings: ViewSettings): Serving {
  const { now, healthTimeoutMs } = settings;
  const view = new NodeHealth(healthTimeoutMs);
  const beats = [...world.nodeHealth].sort(([, a], [, b]) => a.at - b.at);
  const newest = beats.pop();
  // Each stored heartbeat counts from when it was written; the newest moves the clock, as on arrival.
  for (const [node, beat] of beats) view.record(node, beat, now, true);
  if (newest !== undefined) view.record(newest[0], newest[1], Math.min(now, newest[1].at), false);
  const healthy = view.healthy();
  return {
    health: (node) => view.reason(node),
    routes: desiredRoutes({ ...world, healthy }),
    owners: electOwners({ ...world, healthy }),
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
  return blockers(world, (node) => bgpBlocker(node, { ...asks, family, health: serving.health }));
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
      health: serving.health,
      interfaces: world.nodeHealth.get(node.key)?.interfaces ?? [],
    }),
  );
}
