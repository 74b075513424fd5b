import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { layer2Watcher } from '@berth/node-agent/testing';
import {
  CLUSTER_FAULTS,
  FAULTS,
  runFault,
  SENTINEL_FAULTS,
  startStack,
  startWorkload,
  type BerthStack,
  type Fault,
  type FaultWorkload,
  type Layer2Watcher,
  type StackOptions,
} from '@berth/rig';

/** Each fault once on one stack, with BGP and layer-2 Services under churn, and its invariants. */
function faultSuite(title: string, options: StackOptions, faults: readonly Fault[]): void {
  describe(title, { skip: process.getuid?.() !== 0 && 'needs root for the lab' }, () => {
    let stack: BerthStack;
    let workload: FaultWorkload;
    let watcher: Layer2Watcher;
    before(async () => {
      stack = await startStack({ healthPortBase: 0, ...options });
      const router = stack.lab?.router;
      assert.ok(router, 'the stack has its lab');
      // The router's own LAN bridge asks, as any client on the nodes' LAN would.
      watcher = layer2Watcher(router.netns, 'br0', router);
      workload = await startWorkload(stack, { watcher });
    });
    after(() => stack.stop());

    for (const fault of faults) {
      const promises = [
        fault.noBlackhole ? '; no BGP blackhole' : '',
        fault.rightNextHops ? '; next hops unchanged' : '',
        fault.layer2 === 'broken' ? '' : `; layer 2 ${fault.layer2}`,
      ].join('');
      it(`${fault.name}: no address lost, doubled or changed${promises}`, async (t) => {
        const result = await runFault(stack, workload, fault.name, () => fault.inject(stack), { watcher });
        t.diagnostic(
          JSON.stringify({ ...result, duplicates: result.duplicates.length, changed: result.changed.length }),
        );
        assert.deepEqual(result.duplicates, [], 'addresses held twice');
        assert.deepEqual(result.changed, [], 'addresses that changed');
        assert.deepEqual(result.unassigned, [], 'Services without an address');
        assert.ok(Number.isFinite(result.settledAfterMs), 'every route came back');
        if (fault.noBlackhole) assert.equal(result.blackholeMs, 0, 'ms a VIP had no route at the router');
        if (fault.rightNextHops) assert.equal(result.wrongHopsMs, 0, 'ms a VIP had the wrong next hops at the router');
        // Asked every 20 ms: more than 100 ms without an answer is a gap, not the prober's timing.
        if (fault.layer2 !== 'broken')
          assert.ok(result.layer2GapMs < 100, `a layer-2 VIP went ${result.layer2GapMs} ms unanswered`);
        if (fault.layer2 === 'steady') assert.equal(result.layer2MacChanges, 0, 'times a layer-2 VIP changed hands');
      });
    }
  });
}

faultSuite("faults on ./scripts/start's stack, one at a time", {}, FAULTS);
faultSuite('faults on the stack with a three-server NATS cluster', { natsCluster: true }, CLUSTER_FAULTS);
faultSuite(
  'faults on the stack with Redis under Sentinel and two ipam replicas',
  { redisSentinel: true },
  SENTINEL_FAULTS,
);
