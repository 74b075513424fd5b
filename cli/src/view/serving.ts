import {
  healthyNodes,
  matchesSelector,
  type Heartbeat,
  type IpFamily,
  type NodeSnapshot,
  type PoolSnapshot,
  type ServiceSnapshot,
} from '@berth/contracts';
import { electOwners, type L2Owner } from '@berth/node-agent/election';
import { desiredRoutes, nodeAddress, type DesiredRoute } from '@berth/route-publisher/routes';
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

export const prefixOf = (vip: string, family: IpFamily): string => `${vip}/${family === 'IPv4' ? 32 : 128}`;

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
  const inputs = {
    allocations: world.allocations,
    services: world.services,
    endpoints: world.endpoints,
    nodes: world.nodes,
    pools: world.pools,
  };
  const withInterfaces = new Map([...healthy].map((node) => [node, world.nodeHealth.get(node)?.interfaces ?? []]));
  return {
    healthy,
    routes: desiredRoutes({ ...inputs, healthyNodes: healthy }),
    owners: electOwners({ ...inputs, healthy: withInterfaces }),
  };
}

/** The Services on the bus that hold `vip` through an assigned allocation (several with a sharing key). */
export function sharers(world: BusWorld, vip: string): ServiceSnapshot[] {
  const found: ServiceSnapshot[] = [];
  for (const allocation of world.allocations.values()) {
    if (allocation.result.type !== 'assigned' || !allocation.result.addresses.includes(vip)) continue;
    const svc = world.services.get(allocation.key);
    if (svc !== undefined && !svc.deleting && svc.uid === allocation.serviceUid) found.push(svc);
  }
  return found;
}

/** Why one node does not serve a VIP, in the order route-publisher and node-agent check. */
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

export interface NodeBlocker {
  readonly node: string;
  readonly blocker: Blocker;
}

function healthBlocker(world: BusWorld, serving: Serving, settings: ViewSettings, node: string): Blocker | undefined {
  if (serving.healthy.has(node)) return undefined;
  const beat = world.nodeHealth.get(node);
  if (beat === undefined) return 'noHeartbeat';
  return settings.now - Math.min(settings.now, beat.at) >= settings.healthTimeoutMs ? 'staleHeartbeat' : 'agentUnready';
}

const hasReadyEndpoint = (world: BusWorld, service: string, node: string): boolean =>
  (world.endpoints.get(service)?.readyByNode[node] ?? 0) > 0;

function byName(nodes: Iterable<NodeSnapshot>): NodeSnapshot[] {
  return [...nodes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Why each node is not a next hop of a BGP VIP shared by `services` (nodes that are, left out).
 * With externalTrafficPolicy Local a node needs a ready endpoint of every such Service.
 */
export function bgpBlockers(
  world: BusWorld,
  serving: Serving,
  settings: ViewSettings,
  services: readonly ServiceSnapshot[],
  family: IpFamily,
): NodeBlocker[] {
  const local = services.filter((svc) => svc.externalTrafficPolicy === 'Local');
  const blockers: NodeBlocker[] = [];
  for (const node of byName(world.nodes.values())) {
    const blocker: Blocker | undefined = !node.ready
      ? 'notReady'
      : node.excludedFromLoadBalancers
        ? 'excluded'
        : (healthBlocker(world, serving, settings, node.key) ??
          (local.some((svc) => !hasReadyEndpoint(world, svc.key, node.key))
            ? 'noEndpoint'
            : nodeAddress(node, family) === undefined
              ? 'noAddress'
              : undefined));
    if (blocker !== undefined) blockers.push({ node: node.key, blocker });
  }
  return blockers;
}

/**
 * Why each node may not answer for a layer-2 VIP shared by `services` (nodes that may, left out).
 * With externalTrafficPolicy Local a node needs a ready endpoint of every such Service.
 */
export function layer2Blockers(
  world: BusWorld,
  serving: Serving,
  settings: ViewSettings,
  pool: PoolSnapshot | undefined,
  services: readonly ServiceSnapshot[],
): NodeBlocker[] {
  const wanted = pool?.layer2?.interfaces ?? [];
  const local = services.filter((svc) => svc.externalTrafficPolicy === 'Local');
  const blockers: NodeBlocker[] = [];
  for (const node of byName(world.nodes.values())) {
    const interfaces = world.nodeHealth.get(node.key)?.interfaces ?? [];
    const blocker: Blocker | undefined = !node.ready
      ? 'notReady'
      : node.excludedFromLoadBalancers
        ? 'excluded'
        : (healthBlocker(world, serving, settings, node.key) ??
          (!matchesSelector(pool?.layer2?.nodeSelector, node.labels)
            ? 'nodeSelector'
            : wanted.length > 0 && !wanted.some((name) => interfaces.includes(name))
              ? 'noInterface'
              : local.some((svc) => !hasReadyEndpoint(world, svc.key, node.key))
                ? 'noEndpoint'
                : undefined));
    if (blocker !== undefined) blockers.push({ node: node.key, blocker });
  }
  return blockers;
}
