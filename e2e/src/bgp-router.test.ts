import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBus, type Bus } from '@berth/bus';
import { createLogger } from '@berth/runtime';
import {
  routerBirdConfig,
  startBerthProcess,
  startGobgp,
  startLab,
  startNats,
  type BerthProcess,
  type RigGobgp,
  type RigLab,
  type RigNats,
} from '@berth/rig';
import { BgpWorld, ROUTE_PUBLISHER_MAIN } from '@berth/route-publisher/test-world';

const NODES = ['n1', 'n2', 'n3'];
const V4 = { n1: '192.0.2.11', n2: '192.0.2.12', n3: '192.0.2.13' };
const V6 = { n1: '2001:db8::11', n2: '2001:db8::12', n3: '2001:db8::13' };

/**
 * One upstream router, three nodes and route-publisher in one topology, fed through the real bus
 * the way the watcher, ipam and node-agents feed it.
 */
function topology(name: 'central' | 'per-node', bird: string) {
  describe(`BGP end to end, ${name} topology: gobgpd in namespaces, BIRD's kernel routes`, () => {
    let lab: RigLab;
    let nats: RigNats;
    let bus: Bus;
    let world: BgpWorld;
    const speakers: RigGobgp[] = [];
    const publishers: BerthProcess[] = [];

    const hops = (prefix: string) => lab.routerNextHops(prefix);
    async function eventually(prefix: string, expected: string[], timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      let last: string[] = [];
      while (Date.now() < deadline) {
        last = await hops(prefix);
        if (last.join() === expected.join()) return;
        await sleep(100);
      }
      assert.deepEqual(last, expected, `kernel route of ${prefix} at the router`);
    }

    const agentsReady = new Map<string, boolean>();
    let beating: NodeJS.Timeout | undefined;

    before(async () => {
      [lab, nats] = await Promise.all([startLab([...NODES, 'spk']), startNats()]);
      await lab.startBird(routerBirdConfig(bird));
      bus = await connectBus(nats.as('rig').config, {
        name: 'test',
        identity: 'watcher',
        logger: createLogger('test', 'silent'),
      });
      // Playing the watcher, which makes the buckets.
      await bus.ensureTopology();
      world = await BgpWorld.open(bus);
      await world.bgpConfig({ topology: name, routerId: '192.0.2.14' });
      await world.pool(['203.0.113.0/24', '2001:db8:1::/120']);
      await world.peer('tor4', '192.0.2.254');
      await world.peer('tor6', '2001:db8::254');
      for (const node of NODES) await world.node(node, [V4[node as 'n1'], V6[node as 'n1']]);
      // Node-agents as the test plays them: each beats every 200 ms with its readiness.
      for (const node of NODES) agentsReady.set(node, true);
      beating = setInterval(() => {
        for (const [node, ready] of agentsReady) world.heartbeat(node, ready).catch(() => undefined);
      }, 200);
      // The central speaker lives on its own host; per-node speakers on each node.
      const hosts = name === 'central' ? ['spk'] : NODES;
      for (const host of hosts) {
        const netns = lab.hosts.find((h) => h.name === host)?.netns;
        assert.ok(netns);
        const gobgp = await startGobgp({ netns });
        speakers.push(gobgp);
        const proc = startBerthProcess(ROUTE_PUBLISHER_MAIN, {
          ...nats.as('route-publisher').env,
          BERTH_GOBGP_TARGET: gobgp.target,
          BERTH_NODE_HEALTH_TIMEOUT_MS: '600000',
          ...(name === 'central' ? { BERTH_SPEAKER_NAME: 'central-0' } : { BERTH_NODE_NAME: host }),
        });
        publishers.push(proc);
        await proc.logged('started');
      }
    });
    after(async () => {
      clearInterval(beating);
      for (const p of publishers) p.child.kill('SIGKILL');
      await bus.close();
      await Promise.all([...speakers.map((s) => s.stop()), nats.stop()]);
      await lab.stop();
    });

    it('a dual-stack VIP reaches the router’s kernel as ECMP routes via exactly the three nodes', async () => {
      await world.service('web', ['203.0.113.10', '2001:db8:1::10'], {
        ipFamilies: ['IPv4', 'IPv6'],
        ipFamilyPolicy: 'RequireDualStack',
      });
      await eventually('203.0.113.10', Object.values(V4));
      await eventually('2001:db8:1::10', Object.values(V6));
    });

    it('a node losing health drops out of the route, and comes back', async () => {
      agentsReady.set('n2', false);
      await eventually('203.0.113.10', [V4.n1, V4.n3]);
      await eventually('2001:db8:1::10', [V6.n1, V6.n3]);
      agentsReady.set('n2', true);
      await eventually('203.0.113.10', Object.values(V4));
    });

    it('externalTrafficPolicy Local: only nodes with a ready endpoint; the last one gone withdraws it', async () => {
      await world.service('api', ['203.0.113.20'], { externalTrafficPolicy: 'Local' });
      await world.readyEndpoints('api', { n1: 1, n3: 1 });
      await eventually('203.0.113.20', [V4.n1, V4.n3]);
      await world.readyEndpoints('api', { n3: 1 });
      await eventually('203.0.113.20', [V4.n3]);
      await world.readyEndpoints('api', {});
      await eventually('203.0.113.20', []);
    });

    it('deleting the Service removes its routes from the router', async () => {
      await world.deleteService('web');
      await eventually('203.0.113.10', []);
      await eventually('2001:db8:1::10', []);
    });
  });
}

topology(
  'central',
  `protocol bgp spk4 {
  local 192.0.2.254 as 65000; neighbor 192.0.2.14 as 64512;
  ipv4 { import all; export none; add paths rx; };
}
protocol bgp spk6 {
  local 2001:db8::254 as 65000; neighbor 2001:db8::14 as 64512;
  ipv6 { import all; export none; add paths rx; };
}`,
);

topology(
  'per-node',
  `protocol bgp nodes4 {
  local 192.0.2.254 as 65000; neighbor range 192.0.2.0/24 as 64512; dynamic name "node4_";
  ipv4 { import all; export none; };
}
protocol bgp nodes6 {
  local 2001:db8::254 as 65000; neighbor range 2001:db8::/64 as 64512; dynamic name "node6_";
  ipv6 { import all; export none; };
}`,
);
