import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AddressError,
  buggyCount,
  formatAddress,
  parseAddress,
  parseEntry,
  rangeSize,
  rangesOverlap,
} from './index.js';

describe('ipnet - pool entries', () => {
  it('reads CIDRs, ranges and single addresses of both families', () => {
    const sizes = [
      '192.0.2.0/24',
      '198.51.100.10-198.51.100.20',
      '203.0.113.7',
      '2001:db8::/64',
      '2001:db8::1-2001:db8::ff',
    ].map((e) => rangeSize(parseEntry(e)));
    assert.deepEqual(sizes, [256n, 11n, 1n, 2n ** 64n, 255n]);
  });

  const bad: [string, RegExp][] = [
    ['192.0.2.5/24', /host bits set/],
    ['192.0.2.0/33', /prefix length outside 0-32/],
    ['192.0.2.20-192.0.2.10', /ends before it starts/],
    ['192.0.2.1-2001:db8::1', /mixes IPv4 and IPv6/],
    ['fe80::1%eth0', /not an IPv4 or IPv6 address/],
    ['pool', /not an IPv4 or IPv6 address/],
  ];
  for (const [entry, message] of bad) {
    it(`refuses ${entry}, saying why`, () => {
      assert.throws(
        () => parseEntry(entry),
        (e: unknown) => e instanceof AddressError && message.test(e.message),
      );
    });
  }

  it('round-trips addresses through numbers in canonical form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const { family, value } = parseAddress(ip);
        assert.equal(parseAddress(formatAddress(family, value)).value, value);
      }),
    );
    assert.equal(formatAddress('IPv6', parseAddress('2001:0db8:0000:0000:0000:0000:0000:0001').value), '2001:db8::1');
  });

  it('counts .0 and .255 exactly like enumerating the range', () => {
    fc.assert(
      fc.property(fc.nat(2000), fc.nat(1500), (start, length) => {
        const first = BigInt(start);
        const range = { family: 'IPv4' as const, first, last: first + BigInt(length), text: '' };
        let expected = 0n;
        for (let x = range.first; x <= range.last; x++) if (x % 256n === 0n || x % 256n === 255n) expected++;
        assert.equal(buggyCount(range), expected);
      }),
    );
  });

  it('finds overlap symmetrically, and never across families', () => {
    const entry = fc
      .tuple(fc.nat(300), fc.nat(40))
      .map(([a, n]) => `192.0.2.${Math.min(a, 255)}-192.0.2.${Math.min(a + n, 255)}`);
    fc.assert(
      fc.property(entry, entry, (x, y) => {
        const [a, b] = [parseEntry(x), parseEntry(y)];
        assert.equal(rangesOverlap(a, b), rangesOverlap(b, a));
        let shared = false;
        for (let x = a.first; x <= a.last; x++) if (b.first <= x && x <= b.last) shared = true;
        assert.equal(rangesOverlap(a, b), shared);
      }),
    );
    assert.equal(rangesOverlap(parseEntry('192.0.2.0/24'), parseEntry('::c000:200/120')), false);
  });
});
