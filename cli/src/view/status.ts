import type { IpFamily, PeerSessionSnapshot, PoolSnapshot } from '@berth/contracts';
import { poolUsage } from '@berth/ipnet';
import { inline } from './phrases.js';
import { serving } from './serving.js';
import { verdictOf, vipServed, type ServiceVerdict, type VipVerdict } from './verdict.js';
import type { BusWorld, ClusterCondition, ClusterView, ViewSettings } from './world.js';

/** One family of one pool. Counts are decimal strings: an IPv6 pool can hold more than 2^53. */
export interface PoolRow {
  readonly pool: string;
  readonly mode: PoolSnapshot['mode'];
  /** Undefined when the pool's addresses cannot be read. */
  readonly family: IpFamily | undefined;
  readonly total: string;
  readonly inUse: number;
  readonly free: string;
  /** What is wrong with the pool, or ''. */
  readonly note: string;
}

/** One VIP of one Service, or the Service alone while it has no address. */
export interface ServiceRow {
  readonly service: string;
  readonly vip: string | undefined;
  readonly pool: string | undefined;
  readonly mode: 'bgp' | 'layer2' | undefined;
  /** BGP: the next hops' addresses, one per serving node. */
  readonly nextHops: readonly string[];
  /** Layer 2: the node that answers. */
  readonly owner: string | undefined;
  /** Layer 2: where the owner answers. */
  readonly interfaces: readonly string[];
  /** The VIP reaches clients. */
  readonly fine: boolean;
  /** Why not, in a few words (`berth explain` says it in full), or ''. */
  readonly note: string;
}

/** One BGP session of one BGPPeer, or the peer alone while no speaker reports a session. */
export interface PeerRow {
  readonly peer: string;
  readonly address: string;
  readonly asn: number;
  readonly speaker: string | undefined;
  readonly state: PeerSessionSnapshot['state'] | undefined;
  /** RFC 3339: when the session entered its state. */
  readonly since: string | undefined;
  /** How long ago that was, in milliseconds. */
  readonly sinceMs: number | undefined;
  readonly prefixes: number | undefined;
  readonly message: string | undefined;
}

/** What `berth status` shows. */
export interface Status {
  readonly pools: readonly PoolRow[];
  readonly services: readonly ServiceRow[];
  readonly peers: readonly PeerRow[];
  readonly cluster: { readonly reachable: boolean; readonly why?: string };
}

const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The cluster's complaints about a pool: an invalid spec, or leases an edit left outside it. */
function poolNote(conditions: readonly ClusterCondition[]): string {
  const notes: string[] = [];
  for (const c of conditions) {
    if (c.type === 'Valid' && c.status === 'False') notes.push(`${c.reason}: ${inline(c.message)}`);
    if (c.type === 'LeasesOutside' && c.status === 'True') notes.push(inline(c.message));
  }
  return notes.join('; ');
}

function poolRows(world: BusWorld, cluster: ClusterView): PoolRow[] {
  const leased = new Map<string, string[]>();
  for (const { result } of world.allocations.values())
    if (result.type === 'assigned') leased.set(result.pool, [...(leased.get(result.pool) ?? []), ...result.addresses]);
  const rows: PoolRow[] = [];
  for (const pool of [...world.pools.values()].sort(byKey)) {
    const note = cluster.reachable ? poolNote(cluster.poolConditions.get(pool.key) ?? []) : '';
    let usage: ReturnType<typeof poolUsage>;
    try {
      usage = poolUsage(pool.addresses, pool.avoidBuggyIPs, leased.get(pool.key) ?? []);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      const note = `cannot read its addresses: ${why}`;
      rows.push({ pool: pool.key, mode: pool.mode, family: undefined, total: '-', inUse: 0, free: '-', note });
      continue;
    }
    for (const family of ['IPv4', 'IPv6'] as const) {
      const u = usage[family];
      if (u === undefined) continue;
      rows.push({
        pool: pool.key,
        mode: pool.mode,
        family,
        total: String(u.total),
        inUse: u.inUse,
        free: String(u.free),
        note,
      });
    }
  }
  return rows;
}

/** Why a VIP does not reach clients, in a few words. */
function vipNote(vip: VipVerdict): string {
  if (vipServed(vip)) return '';
  if (vip.mode === 'layer2') return 'no eligible node';
  if (vip.announcement.type === 'noConfig') return 'no BGPConfig';
  if (vip.nextHops.length === 0) return 'no route: no node serves it';
  if (vip.announcement.type === 'noPeers') return `no BGPPeer for ${vip.family}`;
  return 'no BGP session established';
}

function serviceRows(verdict: ServiceVerdict): ServiceRow[] {
  const alone = (note: string): ServiceRow => ({
    service: verdict.service.key,
    vip: undefined,
    pool: undefined,
    mode: undefined,
    nextHops: [],
    owner: undefined,
    interfaces: [],
    fine: false,
    note,
  });
  switch (verdict.type) {
    case 'deleting':
      return [alone('being deleted')];
    case 'waiting':
      return [alone('waiting for ipam')];
    case 'refused':
      return [alone(`refused: ${verdict.reason}`)];
    case 'assigned':
      return verdict.vips.map((vip) => {
        const notes = [vipNote(vip), verdict.outsidePool ? 'outside its pool (kept)' : ''].filter((n) => n !== '');
        return {
          service: verdict.service.key,
          vip: vip.vip,
          pool: verdict.pool,
          mode: vip.mode,
          nextHops: vip.mode === 'bgp' ? vip.nextHops.map((h) => h.address) : [],
          owner: vip.mode === 'layer2' ? vip.owner : undefined,
          interfaces: vip.mode === 'layer2' ? vip.interfaces : [],
          fine: vipServed(vip),
          note: notes.join('; '),
        };
      });
  }
}

function peerRows(world: BusWorld, now: number): PeerRow[] {
  const rows: PeerRow[] = [];
  for (const peer of [...world.bgpPeers.values()].sort(byKey)) {
    const base = { peer: peer.key, address: peer.peerAddress, asn: peer.peerASN };
    const sessions = [...world.peerSessions.values()]
      .filter((s) => s.peer === peer.key)
      .sort((a, b) => (a.speaker < b.speaker ? -1 : 1));
    if (sessions.length === 0) {
      rows.push({
        ...base,
        speaker: undefined,
        state: undefined,
        since: undefined,
        sinceMs: undefined,
        prefixes: undefined,
        message: undefined,
      });
    }
    for (const s of sessions) {
      const at = Date.parse(s.since);
      rows.push({
        ...base,
        speaker: s.speaker,
        state: s.state,
        since: s.since,
        sinceMs: Number.isNaN(at) ? undefined : Math.max(0, now - at),
        prefixes: s.prefixesAnnounced,
        message: s.message,
      });
    }
  }
  return rows;
}

/** The three tables of `berth status`: pools with their usage, Services with how they are served, BGP peers. */
export function status(world: BusWorld, cluster: ClusterView, settings: ViewSettings): Status {
  const decided = serving(world, settings);
  return {
    pools: poolRows(world, cluster),
    services: [...world.services.values()].sort(byKey).flatMap((svc) => serviceRows(verdictOf(world, decided, svc))),
    peers: peerRows(world, settings.now),
    cluster: cluster.reachable ? { reachable: true } : { reachable: false, why: cluster.why },
  };
}
