import {
  healthyNodes,
  type Heartbeat,
  type IpFamily,
  type NodeSnapshot,
  type PoolSnapshot,
  type ServiceSnapshot,
} from '@berth/contracts';
import {
  bgpBlocker,
  byName,
  desiredRoutes,
  electOwners,
  layer2Blocker,
  liveAllocations,
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
  /** Nodes whose node-agent said ready within the health timeout. */
  readonly healthy: ReadonlySet<string>;
  /** BGP routes by prefix (`<vip>/32` or `<vip>/128`); a VIP no node serves has none. */
  readonly routes: ReadonlyMap<string, DesiredRoute>;
  /** Layer-2 owners by VIP; `node` is undefined when no node is eligible. */
  readonly owners: ReadonlyMap<string, L2Owner>;
}

/**
 * A heartbeat read from the bus's stored state counts from when the agent wrote it (never from
 * the future), exactly as route-publisher and node-agent count the heartbeats they replay.
 */
function heartbeats(world: BusWorld, now: number): Map<string, Heartbeat> {
  return new Map(
    [...world.nodeHealth].map(([node, beat]) => [node, { ready: beat.ready, seenAt: Math.min(now, beat.at) }]),
  );
}

export function serving(world: BusWorld, settings: ViewSettings): Serving {
  const healthy = healthyNodes(heartbeats(world, settings.now), settings.now, settings.healthTimeoutMs);
  const withInterfaces = new Map([...healthy].map((node) => [node, world.nodeHealth.get(node)?.interfaces ?? []]));
  return {
    healthy,
    routes: desiredRoutes({ ...world, healthyNodes: healthy }),
    owners: electOwners({ ...world, healthy: withInterfaces }),
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

/** Why a node's agent is not healthy, told apart: never heard from, heard from too long ago, or unready. */
function healthBlocker(world: BusWorld, serving: Serving, settings: ViewSettings): HealthBlocker {
  return (node) => {
    if (serving.healthy.has(node)) return undefined;
    const beat = world.nodeHealth.get(node);
    if (beat === undefined) return 'noHeartbeat';
    return settings.now - Math.min(settings.now, beat.at) >= settings.healthTimeoutMs
      ? 'staleHeartbeat'
      : 'agentUnready';
  };
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
  settings: ViewSettings,
  services: readonly ServiceSnapshot[],
  family: IpFamily,
): NodeBlocker[] {
  const health = healthBlocker(world, serving, settings);
  const asks = vipServices(services, world.endpoints);
  return blockers(world, (node) => bgpBlocker(node, { ...asks, family, health }));
}

/** Why each node may not answer for a layer-2 VIP shared by `services` (nodes that may, left out): node-agent's rule. */
export function layer2Blockers(
  world: BusWorld,
  serving: Serving,
  settings: ViewSettings,
  pool: PoolSnapshot | undefined,
  services: readonly ServiceSnapshot[],
): NodeBlocker[] {
  const health = healthBlocker(world, serving, settings);
  const asks = vipServices(services, world.endpoints);
  return blockers(world, (node) =>
    layer2Blocker(node, {
      ...asks,
      pool,
      health,
      interfaces: world.nodeHealth.get(node.key)?.interfaces ?? [],
    }),
  );
}
