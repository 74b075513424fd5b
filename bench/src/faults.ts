/**
 * The fault suite as figures: ./scripts/start's stack (two nodes, a central BGP speaker, BIRD as
 * the router) with 8 dual-stack BGP and 2 dual-stack layer-2 Services under churn, each fault of
 * the suite once, and what the network and the API showed meanwhile. The faults of a NATS
 * cluster and of Redis under Sentinel run on stacks started with those.
 */
import { layer2Watcher } from '@berth/node-agent/testing';
import {
  CLUSTER_FAULTS,
  FAULTS,
  runFault,
  SENTINEL_FAULTS,
  startStack,
  startWorkload,
  type Fault,
  type StackOptions,
} from '@berth/rig';
import { reportTable } from './report.js';

const STACKS: readonly (readonly [StackOptions, readonly Fault[]])[] = [
  [{}, FAULTS],
  [{ natsCluster: true }, CLUSTER_FAULTS],
  [{ redisSentinel: true }, SENTINEL_FAULTS],
];

const rows: (readonly [string, (string | number)[]])[] = [];
let workloadSize = { bgpVips: 0, layer2Vips: 0 };
for (const [options, faults] of STACKS) {
  const stack = await startStack({ healthPortBase: 0, ...options });
  try {
    const router = stack.lab?.router;
    if (router === undefined) throw new Error('bench:faults needs root, for the lab');
    const watcher = layer2Watcher(router.netns, 'br0', router);
    const workload = await startWorkload(stack, { watcher });
    workloadSize = { bgpVips: workload.routes.size, layer2Vips: workload.layer2.length };
    for (const fault of faults) {
      const r = await runFault(stack, workload, fault.name, () => fault.inject(stack), { watcher });
      rows.push([
        fault.name,
        [
          r.duplicates.length,
          r.changed.length,
          r.unassigned.length,
          r.blackholeMs,
          r.blackholedVips,
          r.wrongHopsMs,
          r.settledAfterMs,
          r.layer2GapMs,
          r.layer2MacChanges,
          r.newServiceMs,
          r.readyAfterMs,
        ],
      ]);
      console.error(`${fault.name}: done`);
    }
  } finally {
    await stack.stop();
  }
}
reportTable(
  'faults',
  [
    ['duplicate VIPs', ''],
    ['changed', ''],
    ['no address', ''],
    ['blackhole', 'ms'],
    ['VIPs blackholed', ''],
    ['wrong next hops', 'ms'],
    ['routes settled', 'ms'],
    ['L2 gap', 'ms'],
    ['L2 moves', ''],
    ['new Service', 'ms'],
    ['all ready', 'ms'],
  ],
  rows,
  {
    stack:
      'scripts/start: 2 nodes, central speaker, BIRD router; NATS cluster and Sentinel faults on stacks with those',
    workload: { ...workloadSize, churnEveryMs: 300 },
    layer2ProbeEveryMs: 20,
    routeSampleEveryMs: 50,
  },
);
