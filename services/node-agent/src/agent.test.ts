import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { exampleAllocation, exampleNode, examplePool, exampleService } from '@berth/contracts/examples';
import { createLogger } from '@berth/runtime';
import { NodeAgent } from './agent.js';
import { Responder } from './layer2/responder.js';
import { nodeAgentMetrics } from './metrics.js';

/** An agent for node1 with no links (nothing goes on the wire), fed snapshots by hand. */
function agentOnNode1() {
  const registry = new Registry();
  const metrics = nodeAgentMetrics(registry);
  const logger = createLogger('test', 'silent');
  const agent = new NodeAgent({
    node: 'node1',
    responder: new Responder(metrics, logger),
    bus: { publishEvent: () => Promise.resolve() },
    logger,
    metrics,
    healthTimeoutMs: 60_000,
  });
  const unowned = async () =>
    (await registry.getSingleMetric('berth_node_agent_vips_unowned')?.get())?.values[0]?.value;
  return { agent, unowned };
}

function layer2Service(name: string, pool: string, vip: string) {
  const svc = exampleService(0, 'shop', { key: `shop/${name}`, name, uid: `uid-${name}` });
  return { svc, allocation: exampleAllocation(svc.key, svc.uid, pool, [vip], 'layer2') };
}

describe('node-agent: owners', () => {
  it('counts the layer-2 VIPs no node may answer for in berth_node_agent_vips_unowned', async () => {
    const { agent, unowned } = agentOnNode1();
    const { snapshots } = agent;
    snapshots.nodes.set('node1', exampleNode('node1', ['192.0.2.11']));
    snapshots.pools.set('lan', examplePool('lan', ['192.0.2.100-192.0.2.199'], { mode: 'layer2' }));
    // A pool whose nodeSelector matches no node: its VIPs have no eligible owner.
    snapshots.pools.set(
      'rack9',
      examplePool('rack9', ['198.51.100.0/24'], {
        mode: 'layer2',
        layer2: { interfaces: [], nodeSelector: { matchLabels: { rack: '9' } } },
      }),
    );
    for (const [name, pool, vip] of [
      ['web', 'lan', '192.0.2.100'],
      ['db', 'rack9', '198.51.100.1'],
      ['cache', 'rack9', '198.51.100.2'],
    ] as const) {
      const { svc, allocation } = layer2Service(name, pool, vip);
      snapshots.services.set(svc.key, svc);
      snapshots.allocations.set(svc.key, allocation);
    }
    agent.heartbeat(
      'node1',
      { v: 1, key: 'node1', revision: '1', at: Date.now(), ready: true, interfaces: ['eth0'] },
      false,
    );
    agent.inputsInitialized();
    await tick();
    assert.equal(await unowned(), 2, 'the two rack9 VIPs have no owner; web is owned by node1');

    // node1 joins rack 9: every VIP has an owner again.
    snapshots.nodes.set('node1', exampleNode('node1', ['192.0.2.11'], { labels: { rack: '9' } }));
    agent.changed();
    await tick();
    assert.equal(await unowned(), 0);
    agent.stop();
  });
});
