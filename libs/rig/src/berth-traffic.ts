import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestStream, RigKubeCluster } from './kube-cluster.js';
import type { RigKubeNode } from './kube-node.js';
import { RigError } from './errors.js';

/** Polls `probe` until it returns a value; else fails saying what did not happen and the last error. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
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
  throw new RigError(`${what} did not happen within ${timeoutMs} ms (last: ${String(last)})`, 'RIG_SERVER_TIMEOUT');
}

export interface EchoServiceOptions {
  readonly name: string;
  readonly replicas: number;
  /** No pod on these nodes (the bus's node, which tests never stop). */
  readonly avoidNodes?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** @default 'Cluster' */
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  /** @default 'SingleStack' (IPv4) */
  readonly ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
}

/**
 * The test workload: the rig's echo server (it answers with its pod's name), one pod per node at
 * most, so that each scale step lands on a node that had none, behind a Berth LoadBalancer
 * Service of the same name in `default`.
 */
function echoService(image: string, options: EchoServiceOptions): unknown {
  const { name, replicas } = options;
  const labels = { app: name };
  const avoid = options.avoidNodes ?? [];
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
              affinity: {
                ...(avoid.length === 0
                  ? {}
                  : {
                      nodeAffinity: {
                        requiredDuringSchedulingIgnoredDuringExecution: {
                          nodeSelectorTerms: [
                            {
                              matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: avoid }],
                            },
                          ],
                        },
                      },
                    }),
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
        metadata: { name, namespace: 'default', annotations: options.annotations ?? {} },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass: 'berth.dev/lb',
          externalTrafficPolicy: options.externalTrafficPolicy ?? 'Cluster',
          ...(options.ipFamilyPolicy === undefined || options.ipFamilyPolicy === 'SingleStack'
            ? {}
            : { ipFamilyPolicy: options.ipFamilyPolicy, ipFamilies: ['IPv4', 'IPv6'] }),
          selector: labels,
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
    ],
  };
}

/** Applies an echo Service and waits for its pods: its VIP once Berth has written one. */
export async function startEchoService(cluster: RigKubeCluster, options: EchoServiceOptions): Promise<string> {
  await cluster.kube.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(echoService(cluster.images.echo, options)),
  });
  await cluster.kube.kubectl(['rollout', 'status', `deployment/${options.name}`, '--timeout=120s']);
  return serviceAddress(cluster, options.name);
}

/** The addresses in a Service's status once it has `count` of them (one of each family, for two). */
export function serviceAddresses(
  cluster: RigKubeCluster,
  name: string,
  { count = 1, namespace = 'default' } = {},
): Promise<string[]> {
  return eventually(`${namespace}/${name} gets ${count} address(es)`, async () => {
    const ingress = await cluster.kube.kubectl([
      'get',
      'service',
      name,
      '-n',
      namespace,
      '-o',
      'jsonpath={.status.loadBalancer.ingress[*].ip}',
    ]);
    const addresses = ingress.split(' ').filter((a) => a !== '');
    return addresses.length >= count ? addresses : undefined;
  });
}

/** The first address in a Service's status, once there is one. */
export async function serviceAddress(cluster: RigKubeCluster, name: string, namespace = 'default'): Promise<string> {
  const [first = ''] = await serviceAddresses(cluster, name, { namespace });
  return first;
}

/** An HTTP URL of `address`, an IPv6 one in brackets. */
export const httpUrl = (address: string) => (address.includes(':') ? `http://[${address}]/` : `http://${address}/`);

/** The router's next hops for `vip` once they are exactly `expected` (node addresses). */
export function routerHopsBecome(cluster: RigKubeCluster, vip: string, expected: readonly string[]): Promise<string[]> {
  const want = [...expected].sort().join();
  return eventually(`the router's route to ${vip} via [${want}]`, async () => {
    const hops = await cluster.lab.routerNextHops(vip);
    return hops.join() === want ? hops : undefined;
  });
}

/** The node whose eth0 the client's ARP entry for a layer-2 `vip` points at, after a request to it. */
export function layer2Owner(cluster: RigKubeCluster, vip: string): Promise<RigKubeNode> {
  return eventually(`the owner of ${vip}`, async () => {
    await cluster.curl(httpUrl(vip)).catch(() => undefined);
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
}

/** What steady request streams saw while something happened, and how long it took. */
export interface StreamsDuring<T> {
  readonly streams: RequestStream[];
  readonly result: T;
  readonly seconds: number;
}

/**
 * Steady request streams from the client to each URL, from `leadMs` before `action` starts until
 * `trailMs` after it ends (at most `maxMs` in all).
 */
export async function streamsDuring<T>(
  cluster: RigKubeCluster,
  urls: readonly string[],
  action: () => Promise<T>,
  { leadMs = 3000, trailMs = 3000, maxMs = 600_000 } = {},
): Promise<StreamsDuring<T>> {
  const stop = new AbortController();
  const streams = Promise.all(
    urls.map((url) => cluster.requestStream(url, { durationMs: maxMs, signal: stop.signal })),
  );
  try {
    await sleep(leadMs);
    const began = Date.now();
    const result = await action();
    const seconds = (Date.now() - began) / 1000;
    await sleep(trailMs);
    stop.abort();
    return { streams: await streams, result, seconds };
  } finally {
    stop.abort();
    await streams.catch(() => undefined);
  }
}

/** What the client saw while a node was lost. */
export interface NodeLoss {
  readonly stopped: RigKubeNode;
  readonly layer2: RequestStream;
  readonly bgp: RequestStream;
}

/**
 * Stops the node that owns `layer2Vip` (kubelet, containers and containerd killed at once, as a
 * power cut would) while the client streams requests to it and to `bgpVip`, from 4 s before
 * until 12 s after the router's route to `bgpVip` no longer goes through that node.
 */
export async function stopLayer2Owner(
  cluster: RigKubeCluster,
  { layer2Vip, bgpVip }: { layer2Vip: string; bgpVip: string },
): Promise<NodeLoss> {
  const stopped = await layer2Owner(cluster, layer2Vip);
  const { streams } = await streamsDuring(
    cluster,
    [httpUrl(layer2Vip), httpUrl(bgpVip)],
    async () => {
      await stopped.kill();
      await eventually(`the router's route to ${bgpVip} leaves ${stopped.name}`, async () => {
        const hops = await cluster.lab.routerNextHops(bgpVip);
        return hops.length > 0 && !hops.includes(stopped.host.ipv4) ? hops : undefined;
      });
    },
    { leadMs: 4000, trailMs: 12_000 },
  );
  const [layer2, bgp] = streams;
  if (layer2 === undefined || bgp === undefined) throw new RigError('a request stream is missing', 'RIG_BAD_OPTION');
  return { stopped, layer2, bgp };
}
