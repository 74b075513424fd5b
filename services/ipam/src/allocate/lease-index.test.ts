import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAddress } from '@berth/ipnet';
import type { Lease } from './lease.js';
import { LeaseIndex } from './lease-index.js';

const lease = (uid: string, addresses: string[], sharingKey?: string): Lease => ({
  serviceUid: uid,
  service: `shop/${uid}`,
  pool: 'p',
  mode: 'bgp',
  addresses,
  ports: [],
  externalTrafficPolicy: 'Cluster',
  ...(sharingKey === undefined ? {} : { sharingKey }),
});

const ADDRESSES = ['192.0.2.1', '192.0.2.2', '2001:db8::1', '2001:db8::2'];

describe('lease index', () => {
  it('after any sets and deletes, answers exactly like an index built from the remaining leases', () => {
    const step = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        uid: fc.constantFrom('a', 'b', 'c'),
        addresses: fc.subarray(ADDRESSES, { minLength: 1, maxLength: 2 }),
        key: fc.constantFrom(undefined, 'k'),
      }),
      fc.record({ op: fc.constant('delete' as const), uid: fc.constantFrom('a', 'b', 'c') }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
        const index = new LeaseIndex();
        const truth = new Map<string, Lease>();
        for (const s of steps) {
          if (s.op === 'set') {
            const l = lease(s.uid, s.addresses, s.key);
            index.set(l);
            truth.set(s.uid, l);
          } else {
            index.delete(s.uid);
            truth.delete(s.uid);
          }
        }
        const fresh = LeaseIndex.of(truth.values());
        assert.equal(index.size, truth.size);
        for (const address of ADDRESSES) {
          const { family, value } = parseAddress(address);
          assert.deepEqual(
            index
              .holders(address)
              .map((l) => l.serviceUid)
              .sort(),
            fresh
              .holders(address)
              .map((l) => l.serviceUid)
              .sort(),
          );
          assert.equal(index.isTaken(family, value), fresh.isTaken(family, value));
          assert.equal(
            index.isTaken(family, value),
            [...truth.values()].some((l) => l.addresses.includes(address)),
          );
        }
        assert.deepEqual([...index.sharedUnder('k')].sort(), [...fresh.sharedUnder('k')].sort());
      }),
      { numRuns: 500 },
    );
  });
});
