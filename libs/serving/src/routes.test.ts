import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { EndpointsSnapshot, NodeSnapshot, ServiceSnapshot } from '@berth/contracts';
import { exampleAllocation, exampleNode, examplePool, exampleService } from '@berth/contracts/examples';
import { familyOf, nodeAddress } from './blockers.js';
import type { DecisionInputs } from './inputs.js';
import { desiredRoutes } from './routes.js';

const NODES = ['n0', 'n1', 'n2', 'n3'];
/** True three times in four: most nodes serve, so both outcomes are common. */
const mostly = fc.integer({ min: 0, max: 3 }).map((n) => n > 0);
const rarely = mostly.map((b) => !b);

/** A random world: nodes in every state, Services with either policy, single- and dual-stack. */
const world = fc
  .record({
    nodes: fc.tuple(
      ...NODES.map((name, i) =>
        fc.record({
          ready: mostly,
          excluded: rarely,
          healthy: mostly,
          v4: mostly,
          v6: mostly,
          name: fc.constant(name),
          i: fc.constant(i),
        }),
      ),
    ),
    services: fc.array(
      fc.record({
        local: fc.boolean(),
        dual: fc.boolean(),
        // Which address: Services that draw the same one share it (a sharing key, in ipam's terms).
        vip: fc.integer({ min: 0, max: 5 }),
        deleting: rarely,
        readyOn: fc.subarray(NODES),
      }),
      { maxLength: 8 },
    ),
  })
  .map(({ nodes, services }): DecisionInputs => {
    const nodeMap = new Map<string, NodeSnapshot>();
    const healthy = new Map<string, readonly string[]>();
    for (const n of nodes) {
      const addresses = [...(n.v4 ? [`192.0.2.${11 + n.i}`] : []), ...(n.v6 ? [`2001:db8::${11 + n.i}`] : [])];
      nodeMap.set(n.name, exampleNode(n.name, addresses, { ready: n.ready, excludedFromLoadBalancers: n.excluded }));
      if (n.healthy) healthy.set(n.name, []);
    }
    const svcs = new Map<string, ServiceSnapshot>();
    const endpoints = new Map<string, EndpointsSnapshot>();
    const allocations = new Map<string, ReturnType<typeof exampleAllocation>>();
    services.forEach((s, i) => {
      const svc = exampleService(i, 'shop', {
        externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
        deleting: s.deleting,
      });
      svcs.set(svc.key, svc);
      endpoints.set(svc.key, {
        v: 1,
        key: svc.key,
        revision: '1',
        readyByNode: Object.fromEntries(s.readyOn.map((n) => [n, 1])),
      });
      const addresses = [`203.0.113.${s.vip}`, ...(s.dual ? [`2001:db8:1::${s.vip}`] : [])];
      // A shared address is in one pool, so one mode: every third address is a layer-2 one.
      const mode = s.vip % 3 === 2 ? 'layer2' : 'bgp';
      allocations.set(svc.key, exampleAllocation(svc.key, svc.uid, 'public', addresses, mode));
    });
    const pools = new Map([
      ['public', examplePool('public', ['203.0.113.0/24'], { bgp: { communities: ['64512:7'], peers: [] } })],
    ]);
    return { allocations, services: svcs, endpoints, nodes: nodeMap, pools, healthy };
  });

describe('desiredRoutes', () => {
  it('a node is a next hop of a VIP exactly when it is ready, not excluded, healthy, has the family, and (Local) has a ready endpoint of every Service on it', () => {
    let routed = 0;
    let withdrawn = 0;
    let shared = 0;
    fc.assert(
      fc.property(world, (inputs) => {
        const routes = desiredRoutes(inputs);
        const vips = new Set(
          [...inputs.allocations.values()].flatMap((a) => (a.result.type === 'assigned' ? a.result.addresses : [])),
        );
        for (const vip of vips) {
          const family = familyOf(vip);
          // The live BGP Services on this VIP: one unless they share it.
          const users = [...inputs.allocations.values()].flatMap((allocation) => {
            const svc = inputs.services.get(allocation.key);
            const { result } = allocation;
            const live =
              result.type === 'assigned' &&
              result.mode === 'bgp' &&
              result.addresses.includes(vip) &&
              svc !== undefined &&
              !svc.deleting;
            return live ? [svc] : [];
          });
          if (users.length > 1) shared++;
          const expected = [...inputs.nodes.values()]
            .filter(
              (n) =>
                users.length > 0 &&
                n.ready &&
                !n.excludedFromLoadBalancers &&
                inputs.healthy.has(n.key) &&
                nodeAddress(n, family) !== undefined &&
                users.every(
                  (svc) =>
                    svc.externalTrafficPolicy === 'Cluster' ||
                    (inputs.endpoints.get(svc.key)?.readyByNode[n.key] ?? 0) > 0,
                ),
            )
            .map((n) => n.key)
            .sort();
          const route = routes.get(`${vip}/${family === 'IPv4' ? 32 : 128}`);
          // A VIP no node serves gets no route at all, never one without next hops.
          assert.deepEqual(route?.nextHops.map((h) => h.node) ?? [], expected);
          for (const hop of route?.nextHops ?? []) assert.equal(familyOf(hop.address), family);
          if (route === undefined) withdrawn++;
          else routed++;
        }
      }),
      { numRuns: 300 },
    );
    // The random worlds met every case, so the property said something about each.
    assert.ok(
      routed > 150 && withdrawn > 150 && shared > 50,
      `routed ${routed}, withdrawn ${withdrawn}, shared ${shared}`,
    );
  });

  it('the routes do not depend on the order the allocations were read in', () => {
    fc.assert(
      fc.property(world, (inputs) => {
        const reversed = { ...inputs, allocations: new Map([...inputs.allocations].reverse()) };
        const sorted = (routes: Map<string, unknown>) => [...routes].sort(([a], [b]) => (a < b ? -1 : 1));
        assert.deepEqual(sorted(desiredRoutes(reversed)), sorted(desiredRoutes(inputs)));
      }),
    );
  });

  it('dual-stack: each family routes via the nodes’ addresses of that family, with the pool’s communities', () => {
    const inputs: DecisionInputs = {
      allocations: new Map([
        ['shop/web', exampleAllocation('shop/web', 'u', 'public', ['203.0.113.5', '2001:db8:1::5'])],
      ]),
      services: new Map([['shop/web', exampleService(0, 'shop', { key: 'shop/web', uid: 'u' })]]),
      endpoints: new Map(),
      nodes: new Map([
        ['a', exampleNode('a', ['192.0.2.11', '2001:db8::11'])],
        ['b', exampleNode('b', ['192.0.2.12'])],
      ]),
      pools: new Map([
        [
          'public',
          examplePool('public', ['203.0.113.0/24'], {
            bgp: { communities: ['64512:9', '64512:1'], localPref: 200, peers: [] },
          }),
        ],
      ]),
      healthy: new Map([
        ['a', []],
        ['b', []],
      ]),
    };
    const routes = desiredRoutes(inputs);
    assert.deepEqual(
      routes.get('203.0.113.5/32')?.nextHops.map((h) => h.address),
      ['192.0.2.11', '192.0.2.12'],
    );
    assert.deepEqual(
      routes.get('2001:db8:1::5/128')?.nextHops.map((h) => h.address),
      ['2001:db8::11'],
    );
    assert.deepEqual(routes.get('203.0.113.5/32')?.communities, ['64512:1', '64512:9']);
    assert.equal(routes.get('2001:db8:1::5/128')?.localPref, 200);
  });

  it('an allocation of an older namesake (another UID) routes nothing', () => {
    const inputs: DecisionInputs = {
      allocations: new Map([['shop/web', exampleAllocation('shop/web', 'old', 'public', ['203.0.113.5'])]]),
      services: new Map([['shop/web', exampleService(0, 'shop', { key: 'shop/web', uid: 'new' })]]),
      endpoints: new Map(),
      nodes: new Map([['a', exampleNode('a', ['192.0.2.11'])]]),
      pools: new Map(),
      healthy: new Map([['a', []]]),
    };
    assert.equal(desiredRoutes(inputs).size, 0);
  });
});
