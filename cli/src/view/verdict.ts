import type { IpFamily, PeerSessionSnapshot, RefusalReason, ServiceSnapshot } from '@berth/contracts';
import { familyOf, prefixOf, type NextHop } from '@berth/serving';
import { bgpBlockers, layer2Blockers, sharers, type NodeBlocker, type Serving } from './serving.js';
import type { BusWorld } from './world.js';

/** One BGPPeer as the speakers that would announce a VIP to it report their sessions. */
export interface PeerReach {
  readonly peer: string;
  /** The best state among the relevant sessions; `none` when route-publisher reported none. */
  readonly state: PeerSessionSnapshot['state'] | 'none';
}

/** Whether the routers can learn a VIP that has next hops. */
export type Announcement =
  | { readonly type: 'noConfig' }
  /** No BGPPeer carries the VIP's family. */
  | { readonly type: 'noPeers' }
  | { readonly type: 'peers'; readonly peers: readonly PeerReach[] };

export type VipVerdict =
  | {
      readonly mode: 'bgp';
      readonly vip: string;
      readonly family: IpFamily;
      /** Empty when no node serves it: then `blockers` says why for each node. */
      readonly nextHops: readonly NextHop[];
      readonly blockers: readonly NodeBlocker[];
      readonly announcement: Announcement;
      /** The other Services on this VIP (a sharing key): their endpoints count too. */
      readonly sharedWith: readonly string[];
    }
  | {
      readonly mode: 'layer2';
      readonly vip: string;
      readonly family: IpFamily;
      /** Undefined when no node is eligible: then `blockers` says why for each node. */
      readonly owner: string | undefined;
      /** Where the owner answers; empty when its agent reported none. */
      readonly interfaces: readonly string[];
      readonly blockers: readonly NodeBlocker[];
      readonly sharedWith: readonly string[];
    };

/** What Berth has done for one Service on the bus. */
export type ServiceVerdict =
  | { readonly type: 'deleting'; readonly service: ServiceSnapshot }
  /** ipam has published nothing for this Service (or only for an older namesake). */
  | { readonly type: 'waiting'; readonly service: ServiceSnapshot }
  | {
      readonly type: 'refused';
      readonly service: ServiceSnapshot;
      readonly reason: RefusalReason;
      readonly message: string;
    }
  | {
      readonly type: 'assigned';
      readonly service: ServiceSnapshot;
      readonly pool: string;
      readonly mode: 'bgp' | 'layer2';
      /** A pool edit left the lease outside every pool; it is kept. */
      readonly outsidePool: boolean;
      readonly vips: readonly VipVerdict[];
    };

const STATE_RANK: Record<PeerReach['state'], number> = {
  Established: 6,
  OpenConfirm: 5,
  OpenSent: 4,
  Active: 3,
  Connect: 2,
  Idle: 1,
  Unknown: 0,
  none: -1,
};

/**
 * The BGPPeers that would carry a VIP of `family`, each with its best session: for the central
 * speaker every session of the peer; per node, only the sessions of the next-hop nodes' speakers.
 */
function announcement(world: BusWorld, family: IpFamily, nextHops: readonly NextHop[]): Announcement {
  const config = world.bgpConfig;
  if (config === undefined) return { type: 'noConfig' };
  const hopNodes = new Set(nextHops.map((h) => h.node));
  const peers = [...world.bgpPeers.values()]
    .filter((p) => p.families.includes(family))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  if (peers.length === 0) return { type: 'noPeers' };
  const reach = peers.map((peer): PeerReach => {
    let state: PeerReach['state'] = 'none';
    for (const session of world.peerSessions.values()) {
      if (session.peer !== peer.key) continue;
      if (config.topology === 'per-node' && !hopNodes.has(session.speaker)) continue;
      if (STATE_RANK[session.state] > STATE_RANK[state]) state = session.state;
    }
    return { peer: peer.key, state };
  });
  return { type: 'peers', peers: reach };
}

const othersOn = (services: readonly ServiceSnapshot[], svc: ServiceSnapshot): string[] =>
  services.filter((s) => s.key !== svc.key).map((s) => s.key);

function bgpVip(world: BusWorld, serving: Serving, svc: ServiceSnapshot, vip: string) {
  const family = familyOf(vip);
  const nextHops = serving.routes.get(prefixOf(vip, family))?.nextHops ?? [];
  const services = sharers(world, vip);
  return {
    mode: 'bgp' as const,
    vip,
    family,
    nextHops,
    blockers: nextHops.length === 0 ? bgpBlockers(world, serving, services, family) : [],
    announcement: announcement(world, family, nextHops),
    sharedWith: othersOn(services, svc),
  };
}

function layer2Vip(world: BusWorld, serving: Serving, svc: ServiceSnapshot, pool: string, vip: string) {
  const services = sharers(world, vip);
  const owner = serving.owners.get(vip);
  const node = owner?.node;
  const agent = node === undefined ? [] : (world.nodeHealth.get(node)?.interfaces ?? []);
  // The pool's interfaces that the owner's agent has, or every one it watches when the pool names none.
  const interfaces =
    owner === undefined || owner.interfaces.length === 0 ? agent : owner.interfaces.filter((i) => agent.includes(i));
  return {
    mode: 'layer2' as const,
    vip,
    family: familyOf(vip),
    owner: node,
    interfaces,
    blockers: node === undefined ? layer2Blockers(world, serving, world.pools.get(pool), services) : [],
    sharedWith: othersOn(services, svc),
  };
}

/** What Berth did for `service`, from ipam's allocation and the serving decisions. */
export function verdictOf(world: BusWorld, serving: Serving, service: ServiceSnapshot): ServiceVerdict {
  if (service.deleting) return { type: 'deleting', service };
  const allocation = world.allocations.get(service.key);
  if (allocation === undefined || allocation.serviceUid !== service.uid) return { type: 'waiting', service };
  const { result } = allocation;
  if (result.type === 'refused') return { type: 'refused', service, reason: result.reason, message: result.message };
  return {
    type: 'assigned',
    service,
    pool: result.pool,
    mode: result.mode,
    outsidePool: result.outsidePool === true,
    vips: result.addresses.map((vip) =>
      result.mode === 'bgp'
        ? bgpVip(world, serving, service, vip)
        : layer2Vip(world, serving, service, result.pool, vip),
    ),
  };
}

/** A VIP reaches clients: routed to an established peer, or answered by a node. */
export function vipServed(vip: VipVerdict): boolean {
  if (vip.mode === 'layer2') return vip.owner !== undefined;
  return (
    vip.nextHops.length > 0 &&
    vip.announcement.type === 'peers' &&
    vip.announcement.peers.some((p) => p.state === 'Established')
  );
}

/** The Service has its address and every VIP of it reaches clients. */
export function verdictFine(verdict: ServiceVerdict): boolean {
  return verdict.type === 'assigned' && verdict.vips.every(vipServed);
}
