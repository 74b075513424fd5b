import { bounded } from '@berth/contracts';
import { AddressError, parseEntry, poolUsage as addressUsage } from '@berth/ipnet';
import type { Condition, FamilyUsage, IPPoolObject } from '../snapshots/objects.js';
import { overlapRefusals } from './pool-overlaps.js';

export const VALID_CONDITION = 'Valid';
/** True while leases that name the pool sit outside its addresses (kept after an edit). */
export const OUTSIDE_CONDITION = 'LeasesOutside';

/** Berth's fields of an IPPool's status. */
export interface PoolStatusWrite {
  ipv4?: FamilyUsage;
  ipv6?: FamilyUsage;
  conditions: Condition[];
}

/** Why the pool cannot be used as written, or undefined when it can. */
function problem(pool: IPPoolObject, all: readonly IPPoolObject[]): { reason: string; message: string } | undefined {
  try {
    pool.spec.addresses.forEach(parseEntry);
  } catch (error) {
    if (error instanceof AddressError) return { reason: 'Malformed', message: error.message };
    throw error;
  }
  return overlapRefusals(all).get(pool.metadata.name);
}

/** Addresses total, leased and free per family, as IPPool status spells them. */
export function poolUsage(pool: IPPoolObject, leased: Iterable<string>): { ipv4?: FamilyUsage; ipv6?: FamilyUsage } {
  const usage = addressUsage(pool.spec.addresses, pool.spec.avoidBuggyIPs === true, leased);
  const render = (u: { total: bigint; inUse: number; free: bigint }): FamilyUsage => ({
    total: String(u.total),
    inUse: u.inUse,
    free: String(u.free),
  });
  return {
    ...(usage.IPv4 === undefined ? {} : { ipv4: render(usage.IPv4) }),
    ...(usage.IPv6 === undefined ? {} : { ipv6: render(usage.IPv6) }),
  };
}

/**
 * The status an IPPool should show, or undefined when it already does. `leased` holds the
 * addresses of every assigned allocation naming this pool.
 */
export function decidePoolStatus(
  pool: IPPoolObject,
  /** Every pool, this one included: which keeps overlapping addresses depends on all. */
  all: readonly IPPoolObject[],
  leased: Iterable<string>,
  /** Leases that name this pool but an edit left outside its addresses: `service (addresses)`. */
  outside: readonly string[],
  now: Date,
): PoolStatusWrite | undefined {
  const trouble = problem(pool, all);
  const usage = trouble?.reason === 'Malformed' ? {} : poolUsage(pool, leased);
  const wanted = [
    {
      type: VALID_CONDITION,
      ...(trouble === undefined
        ? { status: 'True' as const, reason: 'Valid', message: 'the pool’s addresses can be leased' }
        : { status: 'False' as const, ...trouble }),
    },
    {
      type: OUTSIDE_CONDITION,
      ...(outside.length === 0
        ? { status: 'False' as const, reason: 'NoneOutside', message: 'every lease is inside the pool’s addresses' }
        : {
            status: 'True' as const,
            reason: 'LeasesKept',
            message: bounded(`kept, though no longer inside the pool’s addresses: ${[...outside].sort().join(', ')}`),
          }),
    },
  ];
  const current = pool.status?.conditions ?? [];
  const same = wanted.every((w) => {
    const c = current.find((x) => x.type === w.type);
    return c?.status === w.status && c.reason === w.reason && c.message === w.message;
  });
  const sameUsage = JSON.stringify([pool.status?.ipv4, pool.status?.ipv6]) === JSON.stringify([usage.ipv4, usage.ipv6]);
  if (same && sameUsage) return undefined;
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    ...usage,
    conditions: wanted.map((w) => {
      const c = current.find((x) => x.type === w.type);
      return {
        ...w,
        lastTransitionTime: c?.status === w.status ? c.lastTransitionTime : stamp,
        ...(pool.metadata.generation === undefined ? {} : { observedGeneration: pool.metadata.generation }),
      };
    }),
  };
}
