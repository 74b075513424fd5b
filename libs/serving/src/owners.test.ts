import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { EndpointsSnapshot, NodeSnapshot, ServiceSnapshot } from '@berth/contracts';
import { exampleAllocation, exampleNode, examplePool, exampleService } from '@berth/contracts/examples';
import type { DecisionInputs } from './inputs.js';
import { electOwners, pickOwner } from './owners.js';

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4'];
/** True three times in four: most nodes may answer, so owners and ownerless VIPs both occur. */
const mostly = fc.integer({ min: 0, max: 3 }).map((n) => n > 0);
const rarely = mostly.map((b) => !b);

/** A random world: nodes in every state, pools with and without selectors and interfaces. */
const world = fc
  .record({
    nodes: fc.tuple(
      ...NODES.map((name) =>
        fc.record({
          name: fc.constant(name),
          ready: mostly,
          excluded: rarely,
          healthy: mostly,
          zone: fc.constantFrom('a', 'b'),
          interfaces: fc.subarray(['eth0', 'eth1'], { minLength: 1 }),
        }),
      ),
    ),
    zoneOnly: fc.boolean(),
    onlyEth1: fc.boolean(),
    services: fc.array(
      fc.record({
        local: fc.boolean(),
        dual: fc.boolean(),
        mode: fc.constantFrom('layer2' as const, 'layer2' as const, 'bgp' as const),
        deleting: rarely,
        readyOn: fc.subarray(NODES),
        /** Shares the VIP of Service 0 (a sharing key). */
        shared: rarely,
      }),
      { maxLength: 10 },
    ),
  })
  .map(({ nodes, zoneOnly, onlyEth1, services }): DecisionInputs => {
    const nodeMap = new Map<string, NodeSnapshot>();
    const healthy = new Map<string, string[]>();
    for (const n of nodes) {
      nodeMap.set(
        n.name,
        exampleNode(n.name, [], {
          ready: n.ready,
          excludedFromLoadBalancers: n.excluded,
          labels: { zone: n.zone },
        }),
      );
      if (n.healthy) healthy.set(n.name, n.interfaces);
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
      const readyByNode = Object.fromEntries(s.readyOn.map((n) => [n, 1]));
      endpoints.set(svc.key, { v: 1, key: svc.key, revision: '1', readyByNode });
      const n = s.shared ? 0 : i;
      const addresses = [`192.0.2.${100 + n}`, ...(s.dual ? [`2001:db8::${100 + n}`] : [])];
      // A sharing key only joins Services of one pool, so of one mode: Service 0's VIP is layer 2.
      const mode = s.shared || i === 0 ? 'layer2' : s.mode;
      allocations.set(svc.key, exampleAllocation(svc.key, svc.uid, 'lan', addresses, mode));
    });
    const layer2 = {
      interfaces: onlyEth1 ? ['eth1'] : [],
      ...(zoneOnly ? { nodeSelector: { matchLabels: { zone: 'a' } } } : {}),
    };
    const pools = new Map([['lan', examplePool('lan', ['192.0.2.0/24'], { mode: 'layer2', layer2 })]]);
    return { allocations, services: svcs, endpoints, nodes: nodeMap, pools, healthy };
  });

/** The same maps with their entries in another order. */
function shuffled(inputs: DecisionInputs, order: number[]): DecisionInputs {
  const mix = <V>(map: ReadonlyMap<string, V>) => {
    const entries = [...map];
    const keyed = entries.map((e, i) => ({ e, k: order[i % order.length] ?? 0 }));
    return new Map(keyed.sort((a, b) => a.k - b.k).map(({ e }) => e));
  };
  return {
    allocations: mix(inputs.allocations),
    services: mix(inputs.services),
    endpoints: mix(inputs.endpoints),
    nodes: mix(inputs.nodes),
    pools: mix(inputs.pools),
    healthy: mix(inputs.healthy),
  };
}

describe('electOwners', () => {
  it('every agent computes the same owners whatever order its snapshots arrived in', () => {
    fc.assert(
      fc.property(world, fc.array(fc.nat(), { minLength: 1 }), (inputs, order) => {
        assert.deepEqual(electOwners(shuffled(inputs, order)), electOwners(inputs));
      }),
    );
  });

  it('an owner is healthy, ready, not excluded, selected, on an allowed interface, and (Local) runs an endpoint of every Service on the VIP', () => {
    let owned = 0;
    let ownerless = 0;
    fc.assert(
      fc.property(world, (inputs) => {
        const owners = electOwners(inputs);
        const pool = inputs.pools.get('lan');
        for (const owner of owners.values()) {
          const sharing = [...inputs.allocations.values()].filter(
            (a) => a.result.type === 'assigned' && a.result.addresses.includes(owner.vip),
          );
          assert.ok(sharing.every((a) => a.result.type === 'assigned' && a.result.mode === 'layer2'));
          const services = sharing.map((a) => inputs.services.get(a.key)).filter((s) => s?.deleting === false);
          assert.ok(services.length > 0, `${owner.vip} has an owner entry but no live Service`);
          const eligible = [...inputs.nodes.values()].filter((node) => {
            const interfaces = inputs.healthy.get(node.key);
            const wanted = pool?.layer2?.interfaces ?? [];
            return (
              interfaces !== undefined &&
              node.ready &&
              !node.excludedFromLoadBalancers &&
              (pool?.layer2?.nodeSelector === undefined || node.labels['zone'] === 'a') &&
              (wanted.length === 0 || wanted.some((w) => interfaces.includes(w))) &&
              services.every(
                (s) =>
                  s?.externalTrafficPolicy !== 'Local' || (inputs.endpoints.get(s.key)?.readyByNode[node.key] ?? 0) > 0,
              )
            );
          });
          if (owner.node === undefined) {
            assert.deepEqual(eligible, [], `${owner.vip} has eligible nodes but no owner`);
            ownerless++;
          } else {
            assert.ok(
              eligible.some((n) => n.key === owner.node),
              `${owner.node} owns ${owner.vip} but may not`,
            );
            owned++;
          }
        }
        for (const a of inputs.allocations.values()) {
          if (a.result.type !== 'assigned') continue;
          const live = inputs.services.get(a.key)?.deleting === false;
          for (const vip of a.result.addresses)
            if (a.result.mode === 'bgp' || !live)
              assert.ok(!owners.has(vip) || owners.get(vip)?.service !== a.key, `${a.key} wrongly owns ${vip}`);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(owned > 50 && ownerless > 5, `random worlds gave ${owned} owned and ${ownerless} ownerless VIPs`);
  });

  it('when a node goes, only the VIPs it owned move; when it comes back, they return', () => {
    fc.assert(
      fc.property(world, fc.constantFrom(...NODES), (inputs, gone) => {
        const before = electOwners(inputs);
        const healthy = new Map(inputs.healthy);
        healthy.delete(gone);
        const after = electOwners({ ...inputs, healthy });
        for (const [vip, owner] of before) {
          if (owner.node !== gone) assert.equal(after.get(vip)?.node, owner.node, `${vip} moved needlessly`);
          else assert.notEqual(after.get(vip)?.node, gone);
        }
        assert.deepEqual(electOwners({ ...inputs, healthy: new Map(inputs.healthy) }), before);
      }),
    );
  });
});

describe('pickOwner', () => {
  it('spreads VIPs evenly over the nodes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 0, max: 1 << 20 }), (n, base) => {
        const nodes = Array.from({ length: n }, (_, i) => `worker-${i}`);
        const counts = new Map<string, number>();
        const vips = 2000;
        for (let i = 0; i < vips; i++) {
          const v = base + i;
          const vip = i % 2 === 0 ? `198.51.${(v >> 8) & 255}.${v & 255}` : `2001:db8::${v.toString(16)}`;
          const owner = pickOwner(vip, nodes);
          assert.ok(owner !== undefined);
          counts.set(owner, (counts.get(owner) ?? 0) + 1);
        }
        const fair = vips / n;
        for (const node of nodes) {
          const got = counts.get(node) ?? 0;
          assert.ok(got > fair * 0.6 && got < fair * 1.4, `${node} got ${got} of ${vips} VIPs (fair: ${fair})`);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('has no owner without candidates', () => {
    assert.equal(pickOwner('192.0.2.1', []), undefined);
  });
});
