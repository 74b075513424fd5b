import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BGP_POOL, installBerth, startKubeCluster, type RigBerthInstall, type RigKubeCluster } from '@berth/rig';

/** Polls `probe` until it returns a value, failing with the last value seen. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms (last: ${String(last)})`);
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec: { nodeName?: string; containers: { name: string; securityContext?: Record<string, unknown> }[] };
    status: { conditions?: { type: string; status: string }[]; podIP?: string };
  }[];
}

/** The node the bundled NATS and Redis run on: the tests stop only other nodes (the bus is a single server). */
const BUS_NODE = 'node3';

describe('Berth on a cluster of real kubelets, installed with its Helm chart (central topology)', () => {
  let cluster: RigKubeCluster;
  let berth: RigBerthInstall;
  const kubectl = (...args: string[]) => cluster.kube.kubectl(args);
  const pods = async (namespace: string, selector?: string) =>
    JSON.parse(
      await kubectl('get', 'pods', '-n', namespace, ...(selector ? ['-l', selector] : []), '-o', 'json'),
    ) as PodList;
  const nodeAddress = (node: string | undefined) => cluster.nodes.find((n) => n.name === node)?.host.ipv4 ?? '?';
  const vipOf = async (service: string) =>
    eventually(`${service} gets an address`, async () => {
      const status = JSON.parse(
        (await kubectl('get', 'service', service, '-o', 'jsonpath={.status.loadBalancer.ingress}')) || '[]',
      ) as { ip?: string }[];
      return status[0]?.ip;
    });
  /** The router's next hops for `vip` once they equal `expected` (node addresses, sorted). */
  const hopsBecome = (vip: string, expected: string[]) =>
    eventually(`the router's route to ${vip} via ${expected.join(', ')}`, async () => {
      const hops = await cluster.lab.routerNextHops(vip);
      return hops.join() === [...expected].sort().join() ? hops : undefined;
    });
  /** `count` requests from the client to `vip`: the pod names that answered. */
  const answers = async (vip: string, count: number) => {
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push((await cluster.curl(`http://${vip}/`)).trim());
    return names;
  };
  /** The node whose eth0 the client's ARP entry for `vip` points at. */
  const ownerOf = async (vip: string) =>
    eventually(`the owner of ${vip}`, async () => {
      await cluster.curl(`http://${vip}/`).catch(() => undefined);
      const neighbours = JSON.parse(await cluster.lab.exec(cluster.client.netns, 'ip', '-j', 'neigh', 'show', vip)) as {
        lladdr?: string;
      }[];
      const mac = neighbours[0]?.lladdr;
      for (const node of cluster.nodes) {
        const own = (await cluster.lab.exec(node.host.netns, 'cat', '/sys/class/net/eth0/address')).trim();
        if (own === mac) return node;
      }
      return undefined;
    });
  const webPods = async () => (await pods('default', 'app=web')).items;
  const readyOn = async () =>
    new Set(
      (await webPods())
        .filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => nodeAddress(p.spec.nodeName)),
    );

  // Building images from a cold layer cache takes minutes; from a warm one, seconds.
  before(
    async () => {
      cluster = await startKubeCluster();
      berth = await installBerth(cluster, { topology: 'central', busNode: BUS_NODE });
    },
    { timeout: 1_200_000 },
  );
  after(async () => {
    await cluster.stop();
  });

  it('every Berth pod is Ready under the chart’s security contexts, with the bundled NATS and Redis', async () => {
    const list = await pods(berth.namespace);
    const byComponent = new Map<string, number>();
    for (const pod of list.items) {
      const component = pod.metadata.labels?.['app.kubernetes.io/component'] ?? '?';
      byComponent.set(component, (byComponent.get(component) ?? 0) + 1);
      assert.ok(
        pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        `${pod.metadata.name} is Ready`,
      );
      for (const container of pod.spec.containers) {
        assert.equal(
          container.securityContext?.['runAsNonRoot'],
          true,
          `${pod.metadata.name}/${container.name} runs as non-root`,
        );
        assert.equal(
          container.securityContext['readOnlyRootFilesystem'],
          true,
          `${pod.metadata.name}/${container.name}: read-only root`,
        );
      }
    }
    assert.deepEqual(Object.fromEntries([...byComponent].sort()), {
      ipam: 2,
      nats: 1,
      'node-agent': cluster.nodes.length,
      redis: 1,
      'route-publisher': 2,
      watcher: 2,
    });
    const pools = await kubectl('get', 'ippools');
    assert.match(pools, /^default\s+bgp\s+\["203\.0\.113\.0\/24"\]/m);
    assert.match(pools, /^lan\s+layer2\s/m);
  });

  it('a LoadBalancer Service is answered through the router by its pods, every node a next hop (ETP Cluster)', async () => {
    await cluster.kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(webManifests(cluster.images.echo, 2)) });
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=120s');
    const vip = await vipOf('web');
    assert.ok(vip.startsWith(BGP_POOL.split('.0/')[0] ?? '-'), `${vip} is from ${BGP_POOL}`);
    await hopsBecome(
      vip,
      cluster.nodes.map((n) => n.host.ipv4),
    );
    const names = await answers(vip, 30);
    const podNames = new Set((await webPods()).map((p) => p.metadata.name));
    for (const name of names) assert.ok(podNames.has(name), `${name} is a pod of the Deployment`);
    assert.ok(new Set(names).size >= 2, `requests reached more than one pod: ${[...new Set(names)].join(', ')}`);
    const condition = await kubectl(
      'get',
      'service',
      'web',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="berth.dev/AddressAssigned")].status}',
    );
    assert.equal(condition, 'True');
  });

  it('externalTrafficPolicy Local: only nodes with a ready pod are next hops, and scaling out adds one', async () => {
    await kubectl('scale', 'deployment/web', '--replicas=1');
    await kubectl(
      'patch',
      'service',
      'web',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { externalTrafficPolicy: 'Local' } }),
    );
    const vip = await vipOf('web');
    const one = await eventually('one ready pod', async () => {
      const nodes = await readyOn();
      return (await webPods()).length === 1 && nodes.size === 1 ? nodes : undefined;
    });
    await hopsBecome(vip, [...one]);
    const single = (await webPods())[0]?.metadata.name;
    assert.deepEqual(new Set(await answers(vip, 10)), new Set([single]));

    await kubectl('scale', 'deployment/web', '--replicas=2');
    const two = await eventually('two pods ready on two nodes', async () => {
      const nodes = await readyOn();
      return nodes.size === 2 ? nodes : undefined;
    });
    await hopsBecome(vip, [...two]);
    assert.equal((await answers(vip, 10)).length, 10);
  });

  it('a node stops: its layer-2 VIP moves to another node, its BGP next hop leaves, requests resume', async (t) => {
    const lan = webManifests(cluster.images.echo, 2, 'lan', {
      annotations: { 'berth.dev/pool': 'lan' },
      externalTrafficPolicy: 'Local',
    });
    await cluster.kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(lan) });
    await kubectl('rollout', 'status', 'deployment/lan', '--timeout=120s');
    const lanVip = await vipOf('lan');
    assert.match(lanVip, /^192\.0\.2\.2[01]\d$/, 'the layer-2 VIP is from the lan pool');
    const bgpVip = await vipOf('web');
    const lanPods = new Set((await pods('default', 'app=lan')).items.map((p) => p.metadata.name));
    const first = await eventually('the layer-2 VIP answers', async () =>
      (await cluster.curl(`http://${lanVip}/`)).trim(),
    );
    assert.ok(lanPods.has(first), `${first} is a pod of the lan Deployment`);
    const owner = await ownerOf(lanVip);
    const survivor = cluster.nodes.find((n) => n.name !== owner.name && n.name !== BUS_NODE);
    assert.ok(survivor !== undefined && owner.name !== BUS_NODE, `owner ${owner.name} is not the bus's node`);

    const streams = Promise.all([
      cluster.requestStream(`http://${lanVip}/`, 20_000),
      cluster.requestStream(`http://${bgpVip}/`, 20_000),
    ]);
    await sleep(4000);
    await owner.kill();
    await hopsBecome(bgpVip, [survivor.host.ipv4]);
    const [layer2, bgp] = await streams;
    t.diagnostic(
      `layer 2, ${owner.name} stopped: ${layer2.sent} requests, ${layer2.failed} failed, longest gap ${layer2.longestGapMs} ms`,
    );
    t.diagnostic(
      `BGP, ${owner.name} stopped: ${bgp.sent} requests, ${bgp.failed} failed, longest gap ${bgp.longestGapMs} ms`,
    );
    assert.equal((await ownerOf(lanVip)).name, survivor.name, 'the survivor answers ARP for the VIP');
    for (const [what, stream] of [
      ['layer 2', layer2],
      ['BGP', bgp],
    ] as const) {
      assert.ok(
        stream.failed < stream.sent / 4,
        `${what}: most requests were answered (${stream.failed}/${stream.sent} failed)`,
      );
      assert.ok(stream.longestGapMs < 10_000, `${what}: requests resumed (longest gap ${stream.longestGapMs} ms)`);
    }
    const after = (await cluster.curl(`http://${lanVip}/`)).trim();
    assert.ok(lanPods.has(after), `${after} (on ${survivor.name}) answers the layer-2 VIP`);
  });
});

/**
 * The test workload: the rig's echo server, one pod per node at most and never on the bus's node,
 * behind a Berth LoadBalancer Service of the same name.
 */
function webManifests(
  image: string,
  replicas: number,
  name = 'web',
  service: { annotations?: Record<string, string>; externalTrafficPolicy?: string } = {},
): unknown {
  const labels = { app: name };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: 'default' },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              // One pod per node at most, so each scale step lands on a node that had none.
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: [BUS_NODE] }] },
                    ],
                  },
                },
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [
                    { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } },
                  ],
                },
              },
              containers: [
                {
                  name: 'web',
                  image,
                  imagePullPolicy: 'Never',
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
                  resources: { requests: { cpu: '10m', memory: '32Mi' } },
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'default', annotations: service.annotations ?? {} },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass: 'berth.dev/lb',
          externalTrafficPolicy: service.externalTrafficPolicy ?? 'Cluster',
          selector: labels,
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
    ],
  };
}
