import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { runFault, startStack, startWorkload, type BerthStack, type FaultResult, type FaultWorkload } from '@berth/rig';

/** One line of numbers per fault, for whoever reads the test's output. */
function report(t: TestContext, result: FaultResult): void {
  t.diagnostic(
    `${result.fault}: blackhole ${result.blackholeMs} ms (${result.blackholedVips} VIPs), wrong next hops ` +
      `${result.wrongHopsMs} ms, routes settled ${result.settledAfterMs} ms and all ready ${result.readyAfterMs} ms ` +
      `after the fault; ${result.churned} Services churned`,
  );
}

/** What must hold after any fault: no address twice, none changed, none missing. */
function assertNothingLost(result: FaultResult): void {
  assert.deepEqual(result.duplicates, [], 'addresses held twice');
  assert.deepEqual(result.changed, [], 'addresses that changed');
  assert.deepEqual(result.unassigned, [], 'Services without an address');
}

describe(
  "faults on ./scripts/start's stack: BGP Services under churn, one fault at a time",
  { skip: process.getuid?.() !== 0 && 'needs root for the lab' },
  () => {
    let stack: BerthStack;
    let workload: FaultWorkload;
    before(async () => {
      stack = await startStack({ healthPortBase: 0 });
      workload = await startWorkload(stack, { services: 8 });
    });
    after(() => stack.stop());

    it('NATS SIGKILLed and back after 1 s: no BGP VIP loses its route or a next hop, nothing is lost', async (t) => {
      const result = await runFault(stack, workload, 'NATS SIGKILL', () =>
        stack.nats.restart({ kill: true, downMs: 1000 }),
      );
      report(t, result);
      assertNothingLost(result);
      assert.equal(result.blackholeMs, 0, 'ms a VIP had no route at the router');
      assert.equal(result.wrongHopsMs, 0, 'ms a VIP had the wrong next hops at the router');
    });

    it('gobgpd SIGKILLed and started with the same command: every route comes back, nothing is lost', async (t) => {
      const result = await runFault(stack, workload, 'gobgpd SIGKILL', async () => {
        await stack.gobgp.kill();
        await stack.gobgp.restart();
      });
      report(t, result);
      assertNothingLost(result);
      assert.ok(Number.isFinite(result.settledAfterMs), 'every route came back');
    });
  },
);
