import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BgpConfigSnapshot } from '@berth/contracts';
import {
  exampleAllocation,
  exampleBgpConfig,
  exampleNode,
  examplePool,
  exampleService,
} from '@berth/contracts/examples';
import { explain } from './explain.js';
import { status } from './status.js';
import { clusterService, emptyWorld, heartbeat, peer, refused, session, SETTINGS, worlds } from './test-worlds.js';
import type { BusWorld, ClusterService, ClusterView } from './world.js';

const NO_CLUSTER: ClusterView = { reachable: false, why: 'no kubeconfig' };
const cluster = (service: ClusterService | null): ClusterView => ({
  reachable: true,
  poolConditions: new Map(),
  service,
});
const CENTRAL: BgpConfigSnapshot = exampleBgpConfig();

/** shop/web with 203.0.113.10 from BGP pool public, nodes n1 and n2 healthy, peer r1 Established. */
function bgpWorld(change: (w: Mutable) => void = () => undefined): BusWorld {
  const w = mutable();
  const web = exampleService(0, 'shop', { key: 'shop/web', name: 'web', uid: 'u-web', ipFamilies: ['IPv4'] });
  w.services.set(web.key, web);
  w.allocations.set(web.key, exampleAllocation(web.key, web.uid, 'public', ['203.0.113.10']));
  w.pools.set('public', examplePool('public', ['203.0.113.0/24']));
  w.nodes.set('n1', exampleNode('n1', ['192.0.2.11']));
  w.nodes.set('n2', exampleNode('n2', ['192.0.2.12']));
  w.nodeHealth.set('n1', heartbeat('n1', 100));
  w.nodeHealth.set('n2', heartbeat('n2', 100));
  w.bgpConfig = CENTRAL;
  w.bgpPeers.set('r1', peer('r1', '192.0.2.254'));
  w.peerSessions.set('r1/central-0', session('r1', 'central-0', 'Established'));
  change(w);
  return w;
}

/** shop/lan with 192.0.2.100 from layer-2 pool lan, node-1 and node-2 healthy on eth0. */
function layer2World(change: (w: Mutable) => void = () => undefined): BusWorld {
  const w = mutable();
  const svc = exampleService(0, 'shop', { key: 'shop/lan', name: 'lan', uid: 'u-lan', ipFamilies: ['IPv4'] });
  w.services.set(svc.key, svc);
  w.allocations.set(svc.key, exampleAllocation(svc.key, svc.uid, 'lan', ['192.0.2.100'], 'layer2'));
  w.pools.set('lan', examplePool('lan', ['192.0.2.100-192.0.2.120'], { mode: 'layer2', layer2: { interfaces: [] } }));
  for (const name of ['node-1', 'node-2']) {
    w.nodes.set(name, exampleNode(name, []));
    w.nodeHealth.set(name, heartbeat(name, 100));
  }
  change(w);
  return w;
}

type Mutable = { -readonly [K in keyof BusWorld]: BusWorld[K] } & {
  services: Map<string, ReturnType<typeof exampleService>>;
  allocations: Map<string, ReturnType<typeof exampleAllocation>>;
  nodes: Map<string, ReturnType<typeof exampleNode>>;
  pools: Map<string, ReturnType<typeof examplePool>>;
  nodeHealth: Map<string, ReturnType<typeof heartbeat>>;
  bgpPeers: Map<string, ReturnType<typeof peer>>;
  peerSessions: Map<string, ReturnType<typeof session>>;
  endpoints: Map<string, { v: 1; key: string; revision: string; readyByNode: Record<string, number> }>;
};
const mutable = (): Mutable => emptyWorld() as Mutable;

const cases: { desc: string; world: BusWorld; key: string; cluster?: ClusterView; fine: boolean; sentence: string }[] =
  [
    {
      desc: 'BGP, served',
      world: bgpWorld(),
      key: 'shop/web',
      fine: true,
      sentence:
        'shop/web has 203.0.113.10, announced over BGP with next hops 192.0.2.11, 192.0.2.12 to peers r1 (Established).',
    },
    {
      desc: 'layer 2, served',
      world: layer2World(),
      key: 'shop/lan',
      fine: true,
      sentence: 'shop/lan has 192.0.2.100, answered by node-2 over ARP on eth0.',
    },
    {
      desc: 'not on the bus, no cluster to ask',
      world: emptyWorld(),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web is not on the bus: it does not exist, or it is not a LoadBalancer of class berth.dev/lb (berth cannot tell which without the cluster).',
    },
    {
      desc: 'does not exist',
      world: emptyWorld(),
      key: 'shop/web',
      cluster: cluster(null),
      fine: false,
      sentence: 'shop/web does not exist in the cluster.',
    },
    {
      desc: 'another class',
      world: emptyWorld(),
      key: 'shop/web',
      cluster: cluster(clusterService({ loadBalancerClass: 'example.com/lb' })),
      fine: false,
      sentence: "shop/web is not Berth's: its loadBalancerClass is example.com/lb, not berth.dev/lb.",
    },
    {
      desc: 'not a LoadBalancer',
      world: emptyWorld(),
      key: 'shop/web',
      cluster: cluster(clusterService({ type: 'ClusterIP', loadBalancerClass: undefined })),
      fine: false,
      sentence: "shop/web is not Berth's: it is of type ClusterIP, not LoadBalancer.",
    },
    {
      desc: 'no class while Berth is not the default',
      world: emptyWorld(),
      key: 'shop/web',
      cluster: cluster(clusterService({ loadBalancerClass: undefined })),
      fine: false,
      sentence:
        "shop/web is not Berth's: it has no loadBalancerClass and Berth is not the default load balancer (create it with spec.loadBalancerClass: berth.dev/lb).",
    },
    {
      desc: "Berth's, but the watcher has not published it",
      world: emptyWorld(),
      key: 'shop/web',
      cluster: cluster(clusterService()),
      fine: false,
      sentence: "shop/web is Berth's, but the watcher has not published it on the bus (is the watcher running?).",
    },
    {
      desc: 'being deleted',
      world: bgpWorld((w) => {
        const web = w.services.get('shop/web');
        if (web) w.services.set('shop/web', { ...web, deleting: true });
      }),
      key: 'shop/web',
      fine: false,
      sentence: 'shop/web is being deleted: Berth is releasing its address.',
    },
    {
      desc: 'refused: the pool is exhausted',
      world: bgpWorld((w) =>
        w.allocations.set(
          'shop/web',
          refused('shop/web', 'u-web', 'PoolExhausted', 'no free IPv4 address in pools public.\n'),
        ),
      ),
      key: 'shop/web',
      fine: false,
      sentence: 'shop/web has no address: ipam refused it with PoolExhausted: no free IPv4 address in pools public.',
    },
    {
      desc: 'waiting for ipam, with what the Service condition last said',
      world: bgpWorld((w) =>
        w.allocations.set('shop/web', exampleAllocation('shop/web', 'older-uid', 'public', ['203.0.113.10'])),
      ),
      key: 'shop/web',
      cluster: cluster(
        clusterService({
          addressAssigned: {
            type: 'berth.dev/AddressAssigned',
            status: 'False',
            reason: 'NoPoolAllowed',
            message: 'no pool serves namespace shop',
          },
        }),
      ),
      fine: false,
      sentence:
        'shop/web is waiting for ipam: no allocation for it is on the bus yet (is ipam running?); its condition last said NoPoolAllowed: no pool serves namespace shop.',
    },
    {
      desc: 'BGP, no node-agent has reported',
      world: bgpWorld((w) => w.nodeHealth.clear()),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 but no route: no node serves it, because no node-agent has reported from n1 and n2.',
    },
    {
      desc: 'BGP, one node not Ready, the other silent, an unready agent elsewhere',
      world: bgpWorld((w) => {
        w.nodes.set('n1', exampleNode('n1', ['192.0.2.11'], { ready: false }));
        w.nodeHealth.set('n2', heartbeat('n2', 5000));
        w.nodes.set('n3', exampleNode('n3', ['192.0.2.13']));
        w.nodeHealth.set('n3', heartbeat('n3', 100, false));
      }),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 but no route: no node serves it, because n1 is not Ready; the node-agent on n2 has been silent for over 1s; the node-agent on n3 reports its node not ready.',
    },
    {
      desc: 'BGP, externalTrafficPolicy Local with no ready endpoint, and an excluded node',
      world: bgpWorld((w) => {
        const web = w.services.get('shop/web');
        if (web) w.services.set('shop/web', { ...web, externalTrafficPolicy: 'Local' });
        w.nodes.set('n2', exampleNode('n2', ['192.0.2.12'], { excludedFromLoadBalancers: true }));
      }),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 but no route: no node serves it, because n2 is labelled node.kubernetes.io/exclude-from-external-load-balancers; n1 runs no ready endpoint of it (externalTrafficPolicy: Local).',
    },
    {
      desc: 'BGP, a VIP shared with a Local Service that has no ready endpoint',
      world: bgpWorld((w) => {
        const api = exampleService(1, 'shop', {
          key: 'shop/api',
          name: 'api',
          uid: 'u-api',
          ipFamilies: ['IPv4'],
          externalTrafficPolicy: 'Local',
        });
        w.services.set(api.key, api);
        w.allocations.set(api.key, exampleAllocation(api.key, api.uid, 'public', ['203.0.113.10']));
      }),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 but no route: no node serves it, because n1 and n2 run no ready endpoint of it or of shop/api, which shares its address (externalTrafficPolicy: Local).',
    },
    {
      desc: 'BGP, no node has an address of the VIP’s family',
      world: bgpWorld((w) => {
        w.nodes.set('n1', exampleNode('n1', ['2001:db8::11']));
        w.nodes.set('n2', exampleNode('n2', ['2001:db8::12']));
      }),
      key: 'shop/web',
      fine: false,
      sentence: 'shop/web has 203.0.113.10 but no route: no node serves it, because n1 and n2 have no IPv4 address.',
    },
    {
      desc: 'BGP, no nodes at all',
      world: bgpWorld((w) => w.nodes.clear()),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 but no route: no node serves it, because no node is on the bus (is the watcher running?).',
    },
    {
      desc: 'BGP, no BGPConfig',
      world: bgpWorld((w) => (w.bgpConfig = undefined)),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 but no route: there is no BGPConfig "default", so route-publisher announces nothing.',
    },
    {
      desc: 'BGP, no BGPPeer of the family',
      world: bgpWorld((w) => w.bgpPeers.set('r1', peer('r1', '2001:db8::254'))),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 with next hops 192.0.2.11, 192.0.2.12, but no BGPPeer carries IPv4, so no router learns it.',
    },
    {
      desc: 'BGP, no session established',
      world: bgpWorld((w) => {
        w.peerSessions.set('r1/central-0', session('r1', 'central-0', 'Active'));
        w.bgpPeers.set('r2', peer('r2', '192.0.2.253'));
      }),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 with next hops 192.0.2.11, 192.0.2.12, but no BGP session is established: r1 (Active), r2 (no session reported).',
    },
    {
      desc: 'BGP per node: only the next hops’ own sessions count',
      world: bgpWorld((w) => {
        w.bgpConfig = { ...CENTRAL, topology: 'per-node' };
        w.peerSessions.clear();
        w.peerSessions.set('r1/n1', session('r1', 'n1', 'Connect'));
        w.peerSessions.set('r1/n9', session('r1', 'n9', 'Established'));
      }),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 with next hops 192.0.2.11, 192.0.2.12, but no BGP session is established: r1 (Connect).',
    },
    {
      desc: 'served, but the watcher has not written the address into the Service yet',
      world: bgpWorld(),
      key: 'shop/web',
      cluster: cluster(clusterService({ ingress: [] })),
      fine: true,
      sentence:
        "shop/web has 203.0.113.10, announced over BGP with next hops 192.0.2.11, 192.0.2.12 to peers r1 (Established) (not yet in the Service's status).",
    },
    {
      desc: 'dual-stack: each family its own story, and one story told once for both',
      world: bgpWorld((w) => {
        const web = w.services.get('shop/web');
        if (web) w.services.set('shop/web', { ...web, ipFamilies: ['IPv4', 'IPv6'] });
        w.allocations.set(
          'shop/web',
          exampleAllocation('shop/web', 'u-web', 'public', ['203.0.113.10', '2001:db8:1::10']),
        );
        w.bgpPeers.set('r1', peer('r1', '192.0.2.254', { families: ['IPv4', 'IPv6'] }));
        w.nodes.set('n1', exampleNode('n1', ['192.0.2.11', '2001:db8::11']));
      }),
      key: 'shop/web',
      fine: true,
      sentence:
        'shop/web has 203.0.113.10, announced over BGP with next hops 192.0.2.11, 192.0.2.12 to peers r1 (Established); and 2001:db8:1::10, announced over BGP with next hops 2001:db8::11 to peers r1 (Established).',
    },
    {
      desc: 'dual-stack, neither family routed for the same reason',
      world: bgpWorld((w) => {
        w.allocations.set(
          'shop/web',
          exampleAllocation('shop/web', 'u-web', 'public', ['203.0.113.10', '2001:db8:1::10']),
        );
        w.nodeHealth.clear();
      }),
      key: 'shop/web',
      fine: false,
      sentence:
        'shop/web has 203.0.113.10 and 2001:db8:1::10 but no route: no node serves it, because no node-agent has reported from n1 and n2.',
    },
    {
      desc: 'layer 2, no eligible node: selector and interfaces',
      world: layer2World((w) => {
        w.pools.set(
          'lan',
          examplePool('lan', ['192.0.2.100-192.0.2.120'], {
            mode: 'layer2',
            layer2: { interfaces: ['eth1'], nodeSelector: { matchLabels: { zone: 'a' } } },
          }),
        );
        w.nodes.set('node-1', exampleNode('node-1', [], { labels: { zone: 'a' } }));
      }),
      key: 'shop/lan',
      fine: false,
      sentence:
        "shop/lan has 192.0.2.100 but no node answers ARP for it: no node is eligible, because node-2 does not match the pool's layer2.nodeSelector; node-1 has none of the pool's interfaces (eth1).",
    },
  ];

describe('explain', () => {
  for (const c of cases) {
    it(c.desc, () => {
      const answer = explain(c.key, c.world, c.cluster ?? NO_CLUSTER, SETTINGS);
      assert.equal(answer.sentence, c.sentence);
      assert.equal(answer.fine, c.fine);
    });
  }

  it('never throws, and always says one sentence about the Service asked for, for any world', () => {
    fc.assert(
      fc.property(worlds, ({ world, cluster: view, key }) => {
        const { sentence, fine, verdict } = explain(key, world, view, SETTINGS);
        assert.ok(sentence.startsWith(`${key} `), sentence);
        assert.match(sentence, /\.$/);
        assert.doesNotMatch(sentence, /[\n\r]/);
        assert.doesNotMatch(sentence.slice(0, -1), /\.$/, 'one full stop, at the end');
        if (fine) assert.equal(verdict?.type, 'assigned');
      }),
      { numRuns: 500 },
    );
  });

  it('is fine exactly when every row berth status shows for the Service is fine', () => {
    let fine = 0;
    let unfine = 0;
    fc.assert(
      fc.property(worlds, ({ world, cluster: view }) => {
        const rows = status(world, view, SETTINGS).services;
        for (const key of world.services.keys()) {
          const answer = explain(key, world, view, SETTINGS);
          const mine = rows.filter((r) => r.service === key);
          assert.ok(mine.length > 0, `${key} has a row`);
          assert.equal(
            answer.fine,
            mine.every((r) => r.fine),
            answer.sentence,
          );
          if (answer.fine) fine++;
          else unfine++;
        }
      }),
      { numRuns: 300 },
    );
    // The generated worlds met both outcomes, so the property said something about each.
    assert.ok(fine > 50 && unfine > 50, `fine ${fine}, not fine ${unfine}`);
  });
});
