import type { ServiceSnapshot } from '@berth/contracts';
import { byName, healthyOnly, layer2Blocker, vipServices } from './blockers.js';
import { liveAllocations, type DecisionInputs } from './inputs.js';

/** Who answers for one layer-2 VIP. */
export interface L2Owner {
  readonly vip: string;
  /** Undefined when no node is eligible. */
  readonly node: string | undefined;
  /** The pool's interfaces to answer on; empty means every interface the agent watches. */
  readonly interfaces: readonly string[];
  /** The first Service (by key) on the VIP; several share it with a sharing key. */
  readonly service: string;
  readonly serviceUid: string;
  readonly pool: string;
}

/**
 * Rendezvous (highest random weight) score of a node for a VIP: 32-bit FNV-1a of `vip#node`,
 * finished with murmur3's mixer so that similar names still spread. When a node leaves, only the
 * VIPs it held move; when one joins, it takes about its share from every other node.
 */
export function score(vip: string, node: string): number {
  let h = 0x811c9dc5;
  const text = `${vip}#${node}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The eligible node with the highest score; ties (rare) go to the smaller name. */
export function pickOwner(vip: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const node of candidates) {
    const s = score(vip, node);
    if (s > bestScore || (s === bestScore && best !== undefined && node < best)) {
      best = node;
      bestScore = s;
    }
  }
  return best;
}

/**
 * The owner of every layer-2 VIP: the same answer on every agent that sees the same snapshots,
 * whatever order they arrived in. A VIP shared by several Services (a sharing key) has one owner,
 * eligible for all of them.
 */
export function electOwners(inputs: DecisionInputs): Map<string, L2Owner> {
  const byVip = new Map<string, { pool: string; services: ServiceSnapshot[] }>();
  for (const { result, service } of liveAllocations(inputs, 'layer2')) {
    for (const vip of result.addresses) {
      const group = byVip.get(vip) ?? { pool: result.pool, services: [] };
      group.services.push(service);
      byVip.set(vip, group);
    }
  }
  const nodes = byName(inputs.nodes.values());
  const health = healthyOnly(inputs.healthy);
  const owners = new Map<string, L2Owner>();
  for (const [vip, group] of byVip) {
    const pool = inputs.pools.get(group.pool);
    const services = group.services.sort((a, b) => (a.key < b.key ? -1 : 1));
    const first = services[0];
    if (first === undefined) continue;
    const asks = vipServices(services, inputs.endpoints);
    const eligible = nodes.filter(
      (node) =>
        layer2Blocker(node, {
          ...asks,
          pool,
          health,
          interfaces: inputs.healthy.get(node.key) ?? [],
        }) === undefined,
    );
    owners.set(vip, {
      vip,
      node: pickOwner(
        vip,
        eligible.map((node) => node.key),
      ),
      interfaces: [...(pool?.layer2?.interfaces ?? [])],
      service: first.key,
      serviceUid: first.uid,
      pool: group.pool,
    });
  }
  return owners;
}
