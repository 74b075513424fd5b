import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DesiredRoute } from '@berth/serving';
import { diffPaths } from './diff.js';
import { pathIdentifiers, pathKey, speakerPaths, type PathSpec } from './speaker-paths.js';
import { speakerRoutes, transitions } from './transitions.js';

const v4 = fc.integer({ min: 1, max: 254 }).map((n) => `192.0.2.${n}`);
const v6 = fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8::${n.toString(16)}`);

const route = (vip: string, hops: [string, string][]): DesiredRoute => ({
  prefix: `${vip}/32`,
  vip,
  family: 'IPv4',
  nextHops: hops.map(([node, address]) => ({ node, address })),
  communities: [],
  service: 'shop/web',
  serviceUid: 'u',
  pool: 'public',
});

describe('speaker paths', () => {
  it('ADD-PATH identifiers are distinct, non-zero, and a next hop keeps its own when others come and go', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.oneof(v4, v6), { minLength: 1, maxLength: 20 }), fc.nat(), (hops, cut) => {
        const ids = pathIdentifiers(hops);
        assert.equal(new Set(ids.values()).size, hops.length);
        for (const id of ids.values()) assert.ok(id > 0 && id <= 0xffffffff);
        const fewer = hops.filter((_, i) => i !== cut % hops.length);
        for (const [hop, id] of pathIdentifiers(fewer)) if (!hop.includes(':')) assert.equal(id, ids.get(hop));
      }),
    );
  });

  it('central announces one path per next hop; a node announces only itself, with identifier 0', () => {
    const routes = [
      route('203.0.113.1', [
        ['a', '192.0.2.11'],
        ['b', '192.0.2.12'],
        ['c', '192.0.2.13'],
      ]),
    ];
    const central = speakerPaths(routes, { topology: 'central', name: 'c1' });
    assert.deepEqual([...central.values()].map((p) => p.nextHop).sort(), ['192.0.2.11', '192.0.2.12', '192.0.2.13']);
    const b = speakerPaths(routes, { topology: 'per-node', node: 'b' });
    assert.deepEqual(
      [...b.values()].map((p) => [p.nextHop, p.identifier]),
      [['192.0.2.12', 0]],
    );
    assert.equal(speakerPaths(routes, { topology: 'per-node', node: 'z' }).size, 0);
  });

  it('applying the diff to what is held yields exactly the desired paths', () => {
    const path = fc.record(
      {
        prefix: fc.integer({ min: 0, max: 7 }).map((n) => `203.0.113.${n}/32`),
        family: fc.constant('IPv4' as const),
        identifier: fc.integer({ min: 0, max: 3 }),
        nextHop: v4,
        communities: fc.subarray(['64512:1', '64512:2']),
        // Paths from route-publisher are plain objects; a null-prototype one would differ from its equal only in that.
      },
      { noNullPrototype: true },
    );
    const keyed = (paths: PathSpec[]) => new Map(paths.map((p) => [pathKey(p), p]));
    fc.assert(
      fc.property(fc.array(path), fc.array(path), (d, h) => {
        const desired = keyed(d);
        const held = keyed(h);
        const { add, remove } = diffPaths(desired, held);
        for (const p of remove) held.delete(pathKey(p));
        for (const p of add) held.set(pathKey(p), p);
        assert.deepEqual(held, desired);
        // Nothing already right is touched.
        const again = diffPaths(desired, held);
        assert.equal(again.add.length + again.remove.length, 0);
      }),
    );
  });

  it('route transitions: announced, changed next hops, withdrawn; a node speaker sees only its own next hop', () => {
    const speaker = { topology: 'per-node', node: 'a' } as const;
    const before = speakerRoutes(
      [route('203.0.113.1', [['a', '192.0.2.11']]), route('203.0.113.2', [['a', '192.0.2.11']])],
      speaker,
    );
    const after = speakerRoutes(
      [
        route('203.0.113.2', [
          ['a', '192.0.2.11'],
          ['b', '192.0.2.12'],
        ]),
        route('203.0.113.3', [['a', '192.0.2.11']]),
      ],
      speaker,
    );
    // For node a, 203.0.113.2 did not change: b's next hop is b's speaker's business.
    assert.deepEqual(
      transitions(before, after).map((t) => [t.type, t.route.vip]),
      [
        ['routeAnnounced', '203.0.113.3'],
        ['routeWithdrawn', '203.0.113.1'],
      ],
    );
    const central = { topology: 'central', name: 'c' } as const;
    const changed = transitions(
      speakerRoutes([route('203.0.113.2', [['a', '192.0.2.11']])], central),
      speakerRoutes(
        [
          route('203.0.113.2', [
            ['a', '192.0.2.11'],
            ['b', '192.0.2.12'],
          ]),
        ],
        central,
      ),
    );
    assert.deepEqual(
      changed.map((t) => [t.type, t.route.nextHops.length]),
      [['routeChanged', 2]],
    );
  });
});
