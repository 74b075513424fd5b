import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPPoolObject } from '../snapshots/objects.js';
import { decidePoolStatus, poolUsage } from './pool-status.js';

const now = new Date('2026-11-22T03:00:00Z');
const pool = (name: string, addresses: string[], extra: Partial<IPPoolObject['spec']> = {}): IPPoolObject => ({
  metadata: { name, uid: name, resourceVersion: '1', generation: 1 },
  spec: { mode: 'bgp', addresses, ...extra },
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

  it('marks both of two overlapping pools invalid, naming the other', () => {
    const a = pool('a', ['203.0.113.0/24']);
    const b = pool('b', ['192.0.2.0/24', '203.0.113.128/25']);
    const c = pool('c', ['2001:db8::/64']);
    const all = [a, b, c];
    assert.deepEqual(
      decidePoolStatus(a, all, [], [], now)?.conditions[0]?.message,
      '203.0.113.0/24 overlaps 203.0.113.128/25 of pool b',
    );
    assert.deepEqual(
      decidePoolStatus(b, all, [], [], now)?.conditions[0]?.message,
      '203.0.113.128/25 overlaps 203.0.113.0/24 of pool a',
    );
    assert.deepEqual(decidePoolStatus(c, all, [], [], now)?.conditions[0]?.status, 'True');
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
