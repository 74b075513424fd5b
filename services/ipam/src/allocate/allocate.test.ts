import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { matchesSelector, MESSAGE_MAX, type PoolSnapshot, type ServiceSnapshot } from '@berth/contracts';
import { examplePool } from '@berth/contracts/examples';
import { parseAddress, parseEntry, rangeContains } from '@berth/ipnet';
import { allocate, type World } from './allocate.js';
import type { Lease } from './lease.js';
import { LeaseIndex } from './lease-index.js';

type Policy = ServiceSnapshot['ipFamilyPolicy'];

const pool = examplePool;
const service = (name: string, extra: Partial<ServiceSnapshot> = {}): ServiceSnapshot => ({
  v: 1,
  key: `shop/${name}`,
  revision: '1',
  uid: `uid-${name}`,
  namespace: 'shop',
  name,
  labels: {},
  annotations: {},
  ipFamilies: ['IPv4'],
  ipFamilyPolicy: 'SingleStack',
  externalTrafficPolicy: 'Cluster',
  ports: [{ protocol: 'TCP', port: 80 }],
  ingress: [],
  deleting: false,
  ...extra,
});

/** Allocates the Services one after another, as replicas taking turns would, keeping the leases. */
function allocateAll(services: readonly ServiceSnapshot[], world: Omit<World, 'leases'>, leases = new LeaseIndex()) {
  const decisions = new Map<string, ReturnType<typeof allocate>>();
  for (const svc of services) {
    const decision = allocate(svc, { ...world, leases });
    decisions.set(svc.uid, decision);
    if (decision.type === 'assigned') {
      const sharingKey = svc.annotations['berth.dev/sharing-key'];
      leases.set({
        serviceUid: svc.uid,
        service: svc.key,
        pool: decision.pool,
        mode: decision.mode,
        addresses: decision.addresses,
        ...(sharingKey === undefined ? {} : { sharingKey }),
        ports: svc.ports,
        externalTrafficPolicy: svc.externalTrafficPolicy,
        ...(svc.selector === undefined ? {} : { selector: svc.selector }),
      });
    }
  }
  return { decisions, leases };
}

// Small pools, so exhaustion and sharing actually happen.
const pools = fc.constantFrom(
  [pool('a', ['203.0.113.0/29', '2001:db8::/125'])],
  [pool('a', ['203.0.113.0/30']), pool('b', ['2001:db8::10-2001:db8::13'], { priority: 1 })],
  [
    pool('a', ['203.0.113.8/29', '2001:db8::/126'], { namespaces: ['shop'] }),
    pool('b', ['198.51.100.0/30', '2001:db8:1::/126'], { priority: 2, avoidBuggyIPs: true }),
  ],
  [
    pool('a', ['203.0.113.0/29'], { serviceSelector: { matchLabels: { tier: 'front' } } }),
    pool('b', ['198.51.100.0/29', '2001:db8::/125'], { autoAssign: false }),
  ],
);
const services = fc
  .array(
    fc.record({
      policy: fc.constantFrom<Policy>('SingleStack', 'PreferDualStack', 'RequireDualStack'),
      v6first: fc.boolean(),
      share: fc.constantFrom(undefined, 'k1', 'k2'),
      port: fc.constantFrom(80, 443, 8080),
      local: fc.boolean(),
      app: fc.constantFrom('x', 'y'),
      tier: fc.constantFrom(undefined, 'front'),
      ask: fc.constantFrom(undefined, '203.0.113.1', '203.0.113.9', '198.51.100.1', '2001:db8::1', 'nonsense'),
    }),
    { maxLength: 24 },
  )
  .map((specs) =>
    specs.map((s, i) =>
      service(`s${i}`, {
        ipFamilies: s.v6first ? ['IPv6', 'IPv4'] : ['IPv4', 'IPv6'],
        ipFamilyPolicy: s.policy,
        externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
        ports: [{ protocol: 'TCP', port: s.port }],
        selector: { app: s.app },
        labels: s.tier === undefined ? {} : { tier: s.tier },
        annotations: {
          ...(s.share === undefined ? {} : { 'berth.dev/sharing-key': s.share }),
          ...(s.ask === undefined ? {} : { 'berth.dev/ips': s.ask }),
        },
      }),
    ),
  );

describe('allocation - properties over random pools and Services', () => {
  // What the random cases exercised, so a property cannot pass by never meeting its case.
  const seen = { shared: 0, refused: 0, outside: 0 };

  it('never gives one address to two Services, unless they may share it', () => {
    fc.assert(
      fc.property(pools, services, (p, s) => {
        const { leases } = allocateAll(s, { pools: p, namespaces: new Map() });
        const byAddress = new Map<string, Lease[]>();
        for (const lease of leases.values())
          for (const a of lease.addresses) byAddress.set(a, [...(byAddress.get(a) ?? []), lease]);
        for (const [address, holders] of byAddress) {
          if (holders.length === 1) continue;
          seen.shared++;
          const keys = new Set(holders.map((h) => h.sharingKey));
          assert.ok(
            keys.size === 1 && !keys.has(undefined),
            `${address} held by ${holders.map((h) => h.service).join(', ')} without one sharing key`,
          );
          const ports = holders.flatMap((h) => h.ports.map((x) => `${x.protocol}/${x.port}`));
          assert.equal(new Set(ports).size, ports.length, `${address}: a port used twice`);
          const allCluster = holders.every((h) => h.externalTrafficPolicy === 'Cluster');
          const sameSelector = new Set(holders.map((h) => JSON.stringify(h.selector))).size === 1;
          assert.ok(allCluster || sameSelector, `${address}: Local Services with different pods`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('follows the family policy: SingleStack one, RequireDualStack both or nothing, PreferDualStack one or both', () => {
    fc.assert(
      fc.property(pools, services, (p, s) => {
        const { decisions } = allocateAll(s, { pools: p, namespaces: new Map() });
        for (const svc of s) {
          const decision = decisions.get(svc.uid);
          if (decision?.type === 'refused') seen.refused++;
          if (decision?.type !== 'assigned') continue;
          const families = decision.addresses.map((a) => parseAddress(a).family);
          assert.equal(new Set(families).size, families.length, 'one address per family');
          assert.ok(families.every((f) => svc.ipFamilies.includes(f)));
          if (svc.ipFamilyPolicy === 'SingleStack') assert.deepEqual(families, [svc.ipFamilies[0]]);
          if (svc.ipFamilyPolicy === 'RequireDualStack') assert.equal(families.length, 2);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('only leases from pools that allow the Service, inside their ranges', () => {
    fc.assert(
      fc.property(pools, services, (p, s) => {
        const { decisions } = allocateAll(s, { pools: p, namespaces: new Map() });
        for (const svc of s) {
          const decision = decisions.get(svc.uid);
          if (decision?.type !== 'assigned') continue;
          const chosen = p.find((x) => x.key === decision.pool);
          assert.ok(chosen);
          assert.ok(chosen.namespaces.length === 0 || chosen.namespaces.includes(svc.namespace));
          assert.ok(matchesSelector(chosen.serviceSelector, svc.labels));
          for (const address of decision.addresses) {
            const { family, value } = parseAddress(address);
            assert.ok(
              chosen.addresses.map(parseEntry).some((r) => rangeContains(r, family, value)),
              `${address} outside ${chosen.key}`,
            );
            if (chosen.avoidBuggyIPs && family === 'IPv4') assert.ok(value % 256n !== 0n && value % 256n !== 255n);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every address across pool edits, flagging leases left outside every pool', () => {
    const edits = fc.constantFrom(
      (x: readonly PoolSnapshot[]) => x.slice(1),
      (x: readonly PoolSnapshot[]) => x.map((q) => ({ ...q, addresses: q.addresses.slice(0, 1) })),
      (x: readonly PoolSnapshot[]) => [...x, pool('new', ['192.0.2.0/29'], { priority: -1 })],
      (x: readonly PoolSnapshot[]) => x.map((q) => ({ ...q, priority: 10 - q.priority, autoAssign: !q.autoAssign })),
    );
    fc.assert(
      fc.property(pools, services, edits, (p, s, edit) => {
        const { decisions, leases } = allocateAll(s, { pools: p, namespaces: new Map() });
        const edited = edit(p);
        for (const svc of s) {
          const before = decisions.get(svc.uid);
          if (before?.type !== 'assigned') continue;
          const after = allocate(svc, { pools: edited, namespaces: new Map(), leases });
          assert.ok(after.type === 'assigned');
          assert.deepEqual(after.addresses, before.addresses);
          const inside = edited.find((q) => q.key === before.pool)?.addresses.map(parseEntry) ?? [];
          const stillInside = before.addresses.every((a) => {
            const { family, value } = parseAddress(a);
            return inside.some((r) => rangeContains(r, family, value));
          });
          assert.equal(after.outsidePool === true, !stillInside);
          if (!stillInside) seen.outside++;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('met sharing, refusals and leases left outside their pool along the way', () => {
    assert.ok(seen.shared > 0 && seen.refused > 0 && seen.outside > 0, JSON.stringify(seen));
  });
});

describe('allocation - rules, one by one', () => {
  const world = (p: PoolSnapshot[], leases = new LeaseIndex()): World => ({
    pools: p,
    namespaces: new Map([['shop', { team: 'pay' }]]),
    leases,
  });

  it('fills the lower priority value first, then moves on when it is full', () => {
    const p = [
      pool('second', ['198.51.100.0/30'], { priority: 5 }),
      pool('first', ['203.0.113.4/31'], { priority: 1 }),
    ];
    const { decisions } = allocateAll([service('a'), service('b'), service('c')], world(p));
    assert.deepEqual(
      [...decisions.values()].map((d) => (d.type === 'assigned' ? `${d.pool}:${d.addresses.join()}` : d.reason)),
      ['first:203.0.113.4', 'first:203.0.113.5', 'second:198.51.100.0'],
    );
  });

  it('keeps the address a Service already shows (moving over from MetalLB), when free and in a pool it may use', () => {
    const p = [pool('public', ['203.0.113.0/24', '2001:db8:1::/120'])];
    const moved = service('moved', {
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'PreferDualStack',
      ingress: ['203.0.113.77', '2001:db8:1::77'],
    });
    assert.deepEqual(allocate(moved, world(p)), {
      type: 'assigned',
      pool: 'public',
      mode: 'bgp',
      addresses: ['203.0.113.77', '2001:db8:1::77'],
    });
    // Taken by someone else, or in no pool: a fresh address, never a refusal.
    const taken = allocateAll([service('holder', { annotations: { 'berth.dev/ips': '203.0.113.77' } })], world(p));
    const elsewhere = service('elsewhere', { ingress: ['192.0.2.9'] });
    assert.deepEqual(allocate(service('late', { ingress: ['203.0.113.77'] }), world(p, taken.leases)), {
      type: 'assigned',
      pool: 'public',
      mode: 'bgp',
      addresses: ['203.0.113.0'],
    });
    assert.deepEqual(allocate(elsewhere, world(p)), {
      type: 'assigned',
      pool: 'public',
      mode: 'bgp',
      addresses: ['203.0.113.0'],
    });
  });

  it('hands out nothing from a pool refused for overlapping an older one, and says so to a Service naming it', () => {
    const refusal = { reason: 'Overlaps' as const, message: '203.0.113.0/24 overlaps 203.0.113.0/25 of pool old' };
    const p = [pool('old', ['203.0.113.0/25']), { ...pool('new', ['203.0.113.0/24']), priority: -1, refusal }];
    const auto = allocate(service('auto'), world(p));
    assert.equal(
      auto.type === 'assigned' && auto.pool,
      'old',
      'the refused pool comes first by priority, yet is skipped',
    );
    assert.deepEqual(allocate(service('named', { annotations: { 'berth.dev/pool': 'new' } }), world(p)), {
      type: 'refused',
      reason: 'NoPoolAllowed',
      message: `pool new hands out nothing: ${refusal.message}`,
    });
  });

  it('refuses with a reason a person can act on', () => {
    const p = [pool('only', ['203.0.113.10/32'], { namespaceSelector: { matchLabels: { team: 'pay' } } })];
    const taken = allocateAll([service('holder')], world(p)).leases;
    const cases: [ServiceSnapshot, World, string, RegExp][] = [
      [service('full'), world(p, taken), 'PoolExhausted', /no free IPv4 address in pools only/],
      [
        service('bad', { annotations: { 'berth.dev/ips': '203.0.113.300' } }),
        world(p),
        'MalformedAnnotation',
        /^berth\.dev\/ips: "203\.0\.113\.300" is not an IPv4 or IPv6 address$/,
      ],
      [
        service('v6', { ipFamilies: ['IPv6'] }),
        world(p),
        'FamilyUnavailable',
        /no pool this Service may use has IPv6 addresses/,
      ],
      [
        service('dual', { ipFamilies: ['IPv4'], ipFamilyPolicy: 'RequireDualStack' }),
        world(p),
        'FamilyUnavailable',
        /RequireDualStack needs both/,
      ],
      [
        service('asks', { loadBalancerIP: '203.0.113.10' }),
        world(p, taken),
        'RequestedAddressTaken',
        /203\.0\.113\.10 is leased to shop\/holder/,
      ],
      [
        service('outside', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.7' } }),
        world(p),
        'RequestedAddressOutsidePools',
        /192\.0\.2\.7 is in no pool/,
      ],
      [
        service('openelb', { annotations: { 'eip.openelb.kubesphere.io/v1alpha1': '192.0.2.8' } }),
        world(p),
        'RequestedAddressOutsidePools',
        /192\.0\.2\.8 is in no pool/,
      ],
      [
        service('openelb-eip', { annotations: { 'eip.openelb.kubesphere.io/v1alpha2': 'eip-gone' } }),
        world(p),
        'NoPoolAllowed',
        /pool eip-gone does not exist/,
      ],
      [
        service('elsewhere', { namespace: 'other' }),
        world(p),
        'NoPoolAllowed',
        /no pool assigns addresses automatically to namespace other/,
      ],
      [
        service('named', { annotations: { 'berth.dev/pool': 'missing' } }),
        world(p),
        'NoPoolAllowed',
        /pool missing does not exist/,
      ],
      // User input of any size is quoted cut short, and every message is bounded.
      [
        service('huge', { annotations: { 'berth.dev/ips': 'x'.repeat(200_000) } }),
        world(p),
        'MalformedAnnotation',
        /^berth\.dev\/ips: "x{80}"… \(200000 characters\) is not an IPv4 or IPv6 address$/,
      ],
      [
        service('long-pool', { annotations: { 'berth.dev/pool': 'a'.repeat(200_000) } }),
        world(p),
        'NoPoolAllowed',
        /^pool a{1000,}…$/,
      ],
    ];
    for (const [svc, w, reason, message] of cases) {
      const decision = allocate(svc, w);
      if (decision.type !== 'refused') assert.fail(`${svc.name} was given ${decision.addresses.join()}`);
      assert.equal(decision.reason, reason, svc.name);
      assert.match(decision.message, message);
      assert.ok(decision.message.length <= MESSAGE_MAX, `${svc.name}: ${decision.message.length} characters`);
    }
  });

  it('lets Services with one sharing key and different ports share an address', () => {
    const p = [pool('p', ['203.0.113.0/30'])];
    const shared = (name: string, port: number) =>
      service(name, { annotations: { 'berth.dev/sharing-key': 'dns' }, ports: [{ protocol: 'UDP', port }] });
    const { decisions } = allocateAll([shared('udp53', 53), shared('udp5353', 5353), shared('clash', 53)], world(p));
    const addresses = [...decisions.values()].map((d) => (d.type === 'assigned' ? d.addresses[0] : d.type));
    assert.equal(addresses[0], addresses[1], 'different ports share');
    assert.notEqual(addresses[2], addresses[0], 'the same port gets its own address');
  });
});
