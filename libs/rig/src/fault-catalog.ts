import { setTimeout as sleep } from 'node:timers/promises';
import { RigError } from './errors.js';
import type { BerthStack, StackService } from './stack.js';

/** One fault the suite injects, and what the design promises through it. */
export interface Fault {
  readonly name: string;
  /** No BGP VIP loses its route at the router at any moment. */
  readonly noBlackhole: boolean;
  /** No BGP VIP's next hops change at the router (no node is lost). */
  readonly rightNextHops: boolean;
  /**
   * Layer 2: `steady`, every VIP goes on being answered by the same node without a gap;
   * `unbroken`, VIPs may move between nodes but are never unanswered (make-before-break);
   * `broken`, the process that answers dies, so its VIPs go unanswered until it or another answers.
   */
  readonly layer2: 'steady' | 'unbroken' | 'broken';
  inject(stack: BerthStack): Promise<void>;
}

function service(stack: BerthStack, name: StackService['name'], node?: string): StackService {
  const found = stack.services.find((s) => s.name === name && (node === undefined || s.node === node));
  if (found === undefined)
    throw new RigError(`the stack runs no ${name}${node === undefined ? '' : ` on ${node}`}`, 'RIG_BAD_OPTION');
  return found;
}

/** SIGKILL of a Berth process, started again at once, as its Deployment or DaemonSet would. */
function crash(
  name: StackService['name'],
  promises: Pick<Fault, 'noBlackhole' | 'rightNextHops' | 'layer2'>,
  node?: string,
): Fault {
  return {
    name: `${name}${node === undefined ? '' : ` (${node})`} SIGKILL`,
    ...promises,
    inject: async (stack) => {
      await stack.restartService(service(stack, name, node), { kill: true });
    },
  };
}

/** Every fault of the suite, one at a time, on ./scripts/start's stack. */
export const FAULTS: readonly Fault[] = [
  {
    name: 'NATS SIGKILL, back after 1 s',
    noBlackhole: true,
    rightNextHops: true,
    layer2: 'steady',
    inject: async (stack) => {
      if (stack.nats === undefined)
        throw new RigError('the stack runs a NATS cluster, not one server', 'RIG_BAD_OPTION');
      await stack.nats.restart({ kill: true, downMs: 1000 });
    },
  },
  {
    name: 'gobgpd SIGKILL, same command',
    noBlackhole: false,
    rightNextHops: false,
    layer2: 'steady',
    inject: async (stack) => {
      await stack.gobgp.kill();
      await stack.gobgp.restart();
    },
  },
  crash('watcher', { noBlackhole: true, rightNextHops: true, layer2: 'steady' }),
  crash('ipam', { noBlackhole: true, rightNextHops: true, layer2: 'steady' }),
  crash('route-publisher', { noBlackhole: true, rightNextHops: true, layer2: 'steady' }),
  // The node's agent is its health: its next hop goes until the agent is back.
  crash('node-agent', { noBlackhole: true, rightNextHops: false, layer2: 'broken' }, 'node-1'),
  {
    name: 'Redis FLUSHALL',
    noBlackhole: true,
    rightNextHops: true,
    layer2: 'steady',
    inject: async (stack) => {
      if (stack.redis === undefined) throw new RigError('the stack runs Redis under Sentinel', 'RIG_BAD_OPTION');
      await stack.redis.cli('FLUSHALL');
    },
  },
  {
    name: 'kube-apiserver restart',
    noBlackhole: true,
    rightNextHops: true,
    layer2: 'steady',
    inject: async (stack) => {
      if (stack.controlPlane === undefined)
        throw new RigError('the stack runs no control plane of its own', 'RIG_BAD_OPTION');
      await stack.controlPlane.restartApiserver();
    },
  },
  {
    name: 'node-1 cut off from the bus for 3 s',
    noBlackhole: true,
    rightNextHops: false,
    layer2: 'unbroken',
    inject: async (stack) => {
      const link = stack.busLinks.get('node-1');
      if (link === undefined) throw new RigError('node-1 has no bus link', 'RIG_BAD_OPTION');
      link.cut();
      await sleep(3000);
      link.restore();
    },
  },
];

/** The faults of a stack started with `natsCluster`: what three servers are for. */
export const CLUSTER_FAULTS: readonly Fault[] = [
  {
    name: 'one NATS server of three SIGKILLed, back after 3 s',
    noBlackhole: true,
    rightNextHops: true,
    // Heartbeats travel on core NATS, which any server left passes on at once: no agent falls
    // silent while the streams the dead server led elect new leaders.
    layer2: 'steady',
    inject: async (stack) => {
      const cluster = stack.natsCluster;
      if (cluster === undefined) throw new RigError('the stack runs one NATS server, not a cluster', 'RIG_BAD_OPTION');
      await cluster.kill(0);
      await sleep(3000);
      await cluster.start(0);
    },
  },
];

/** The faults of a stack started with `redisSentinel`: a primary lost under two ipam replicas. */
export const SENTINEL_FAULTS: readonly Fault[] = [
  {
    name: 'Redis primary SIGKILL, Sentinel promotes a replica',
    noBlackhole: true,
    rightNextHops: true,
    layer2: 'steady',
    inject: async (stack) => {
      if (stack.redisSentinel === undefined)
        throw new RigError('the stack runs one Redis, not Sentinel', 'RIG_BAD_OPTION');
      await stack.redisSentinel.failover();
    },
  },
];
