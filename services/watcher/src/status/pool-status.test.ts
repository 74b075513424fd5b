import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseEntry, rangesOverlap } from '@berth/ipnet';
import type { IPPoolObject } from '../snapshots/objects.js';
import { decidePoolStatus, poolUsage } from './pool-status.js';
import { overlapRefusals } from './pool-overlaps.js';

const now = new Date('2026-11-22T03:00:00Z');
const pool = (name: string, addresses: string[], extra: Partial<IPPoolObject['spec']> = {}): IPPoolObject => ({
  metadata: { name, uid: name, resourceVersion: '1', generation: 1 },
  spec: { mode: 'bgp', addresses, ...extra },
});

const aged = (p: IPPoolObject, creationTimestamp: string): IPPoolObject => ({
  ...p,
  metadata: { ...p.metadata, creationTimestamp },
});

describe('pool status - usage and validity', () => {
  it('counts totals, leases and free addresses per family; a shared VIP counts once', () => {
    const p = pool('public', ['203.0.113.0/24', '198.51.100.10-198.51.100.19', '2001:db8::/64']);
    // public's leases: a/x and a/y share 203.0.113.1; 192.0.2.99 lies outside the pool.
    const leased = ['203.0.113.1', '2001:db8::1', '203.0.113.1', '192.0.2.99'];
    assert.deepEqual(poolUsage(p, leased), {
      ipv4: { total: '266', inUse: 1, free: '265' },
      ipv6: { total: '18446744073709551616', inUse: 1, free: '18446744073709551615' },
    });
  });

  it('leaves .0 and .255 out of the total with avoidBuggyIPs', () => {
    assert.deepEqual(poolUsage(pool('p', ['203.0.113.0/24'], { avoidBuggyIPs: true }), []).ipv4, {
      total: '254',
      inUse: 0,
      free: '254',
    });
  });

  it('of two overlapping pools the older keeps its addresses; the newer is refused whole, naming it', () => {
    const a = aged(pool('a', ['203.0.113.0/24']), '2026-11-01T00:00:00Z');
    const b = aged(pool('b', ['192.0.2.0/24', '203.0.113.128/25']), '2026-11-02T00:00:00Z');
    const c = aged(pool('c', ['2001:db8::/64']), '2026-11-03T00:00:00Z');
    const all = [b, c, a];
    assert.equal(decidePoolStatus(a, all, [], [], now)?.conditions[0]?.status, 'True');
    assert.deepEqual(decidePoolStatus(b, all, [], [], now)?.conditions[0], {
      type: 'Valid',
      status: 'False',
      reason: 'Overlaps',
      message:
        '203.0.113.128/25 overlaps 203.0.113.0/24 of pool a, which is older and keeps those addresses: this pool hands out none until the overlap is removed',
      observedGeneration: 1,
      lastTransitionTime: '2026-11-22T03:00:00Z',
    });
    assert.equal(decidePoolStatus(c, all, [], [], now)?.conditions[0]?.status, 'True');
  });

  it('overlaps, any pools in any order: the kept are disjoint, each refused overlaps an older kept one, order does not matter', () => {
    const entry = fc
      .tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 3 }))
      .map(([start, length]) => `198.51.100.${start * 4}-198.51.100.${start * 4 + length * 4 + 3}`);
    const pools = fc.uniqueArray(
      fc.record({
        name: fc.stringMatching(/^[a-e][0-9]$/),
        day: fc.integer({ min: 1, max: 3 }),
        addresses: fc.array(entry, { minLength: 1, maxLength: 3 }),
      }),
      { selector: (p) => p.name, maxLength: 6 },
    );
    fc.assert(
      fc.property(pools, fc.integer(), (specs, seed) => {
        const objects = specs.map((p) => aged(pool(p.name, p.addresses), `2026-11-0${p.day}T00:00:00Z`));
        const refusals = overlapRefusals(objects);
        const shuffled = [...objects].sort(
          (x, y) => ((x.metadata.name.charCodeAt(1) * seed) % 7) - ((y.metadata.name.charCodeAt(1) * seed) % 7),
        );
        assert.deepEqual(overlapRefusals(shuffled), refusals);
        const ranges = (p: IPPoolObject) => p.spec.addresses.map(parseEntry);
        const overlap = (x: IPPoolObject, y: IPPoolObject) =>
          ranges(x).some((r) => ranges(y).some((q) => rangesOverlap(r, q)));
        const kept = objects.filter((p) => !refusals.has(p.metadata.name));
        for (const x of kept)
          for (const y of kept)
            if (x !== y) assert.ok(!overlap(x, y), `${x.metadata.name} and ${y.metadata.name} both kept`);
        for (const name of refusals.keys()) {
          const refused = objects.find((p) => p.metadata.name === name) as IPPoolObject;
          const older = kept.filter((p) => overlap(p, refused));
          assert.ok(older.length > 0, `${name} is refused, but overlaps no kept pool`);
          const at = (p: IPPoolObject) => `${p.metadata.creationTimestamp ?? ''} ${p.metadata.name}`;
          assert.ok(
            older.some((p) => at(p) < at(refused)),
            `${name} is refused by a younger pool`,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('says which leases an edit left outside the pool, and stops saying it when they are gone', () => {
    const p = pool('p', ['203.0.113.0/30']);
    const kept = decidePoolStatus(p, [p], [], ['shop/web (192.0.2.9)'], now);
    assert.ok(kept);
    assert.deepEqual(
      kept.conditions.map((c) => [c.type, c.status, c.reason]),
      [
        ['Valid', 'True', 'Valid'],
        ['LeasesOutside', 'True', 'LeasesKept'],
      ],
    );
    assert.match(kept.conditions[1]?.message ?? '', /shop\/web \(192\.0\.2\.9\)/);
    assert.equal(decidePoolStatus(p, [p], [], [], now)?.conditions[1]?.status, 'False');
  });

  it('writes nothing when the status already says it all', () => {
    const p = pool('p', ['203.0.113.0/30']);
    const write = decidePoolStatus(p, [p], ['203.0.113.1'], [], now);
    assert.ok(write);
    const settled = { ...p, status: { ipv4: write.ipv4, conditions: write.conditions } } as IPPoolObject;
    assert.equal(decidePoolStatus(settled, [settled], ['203.0.113.1'], [], now), undefined);
    assert.equal(decidePoolStatus(settled, [settled], ['203.0.113.2', '203.0.113.1'], [], now)?.ipv4?.inUse, 2);
  });
});
