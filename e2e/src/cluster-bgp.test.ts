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
      berth = await installBerth(cluster, { topology: 'central' });
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

  it('a LoadBalancer Service is answered through the router by its pods, one next hop per node', async () => {
    await cluster.kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(webManifests(cluster.images.echo, 3)) });
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
});

/** The test workload: the rig's echo server, spread over the nodes, behind a Berth LoadBalancer. */
function webManifests(image: string, replicas: number): unknown {
  const labels = { app: 'web' };
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              // One pod per node at most, so each scale step lands on a node that had none.
              affinity: {
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
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass: 'berth.dev/lb',
          selector: labels,
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
    ],
  };
}
