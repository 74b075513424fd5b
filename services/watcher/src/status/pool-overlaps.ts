import { parseEntry, rangesOverlap, type AddressRange } from '@berth/ipnet';
import type { IPPoolObject } from '../snapshots/objects.js';

/** Why a pool hands out nothing: it overlaps an older one, which keeps the addresses. */
export interface OverlapRefusal {
  readonly reason: 'Overlaps';
  readonly message: string;
}

/** Older first (creationTimestamp, which the API server sets), then by name for the same second. */
function byAge(a: IPPoolObject, b: IPPoolObject): number {
  const at = (p: IPPoolObject) => p.metadata.creationTimestamp ?? '';
  return at(a).localeCompare(at(b)) || a.metadata.name.localeCompare(b.metadata.name);
}

/**
 * The one rule for overlapping IPPools: the older pool keeps the addresses and stays valid; a
 * pool whose addresses overlap an older pool's is refused whole (it hands out nothing, and says
 * why) until the overlap is removed. Only pools that are not refused themselves count, so a pool
 * overlapping only a refused one is fine. The answer does not depend on the order pools are given
 * in; malformed pools claim nothing.
 */
export function overlapRefusals(pools: Iterable<IPPoolObject>): Map<string, OverlapRefusal> {
  const refusals = new Map<string, OverlapRefusal>();
  const kept: { name: string; ranges: AddressRange[] }[] = [];
  for (const pool of [...pools].sort(byAge)) {
    let ranges: AddressRange[];
    try {
      ranges = pool.spec.addresses.map(parseEntry);
    } catch {
      continue;
    }
    const clash = kept
      .flatMap((older) => ranges.flatMap((mine) => older.ranges.map((theirs) => ({ older, mine, theirs }))))
      .find(({ mine, theirs }) => rangesOverlap(mine, theirs));
    if (clash === undefined) kept.push({ name: pool.metadata.name, ranges });
    else
      refusals.set(pool.metadata.name, {
        reason: 'Overlaps',
        message:
          `${clash.mine.text} overlaps ${clash.theirs.text} of pool ${clash.older.name}, which is older and ` +
          'keeps those addresses: this pool hands out none until the overlap is removed',
      });
  }
  return refusals;
}
