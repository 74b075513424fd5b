import { BERTH_NAMESPACE } from './cluster.js';
import { CHART_DIR } from './helm.js';
import { BERTH_IMAGES, berthImage, chartAppVersion } from './images.js';
import type { RigKubeCluster } from './kube-cluster.js';
import { routerBirdConfig, type RigBird } from './lab.js';

/** The lab router's AS and the cluster's, as the README's examples have them. */
const ROUTER_ASN = 65000;
const CLUSTER_ASN = 64512;
/** The pools the rig gives Berth, dual-stack: BGP from documentation prefixes, layer 2 on the lab's LAN. */
export const BGP_POOL = '203.0.113.0/24';
export const BGP_POOL6 = '2001:db8:cafe::/120';
export const LAYER2_POOL = '192.0.2.200-192.0.2.219';
export const LAYER2_POOL6 = '2001:db8::200-2001:db8::219';

export interface InstallOptions {
  readonly topology?: 'central' | 'per-node';
  /** Berth's images' tag. @default the chart's appVersion */
  readonly tag?: string;
  /** Run the bundled NATS and Redis on this node only, so a test that stops another node keeps the bus. */
  readonly busNode?: string;
  /** More `--set` values, as `key=value`. */
  readonly set?: readonly string[];
  readonly progress?: (step: string) => void;
}

/** Berth installed in a rig cluster, and what it took. */
export interface RigBerthInstall {
  readonly release: string;
  readonly namespace: string;
  /** The tag of Berth's images it runs. */
  readonly tag: string;
  readonly bird: RigBird;
  /** From `helm install` until every Berth pod is Ready, seconds. */
  readonly readySeconds: number;
}

/**
 * BIRD on the lab's router, accepting a session from any node (the speakers' addresses are their
 * nodes'), every path it is sent (ADD-PATH) into its kernel as ECMP routes. IPv6 VIPs come over
 * the same IPv4 sessions (multiprotocol BGP), with the nodes' IPv6 addresses as next hops.
 */
function birdConfig(): string {
  return routerBirdConfig(`protocol bgp nodes4 {
  local 192.0.2.254 as ${ROUTER_ASN}; neighbor range 192.0.2.0/24 as ${CLUSTER_ASN}; dynamic name "node4_";
  ipv4 { import all; export none; add paths rx; };
  ipv6 { import all; export none; add paths rx; };
}`);
}

/**
 * `helm install` of the chart in this repository, as a user installs it: the rig sets only the
 * bundled NATS and Redis images (the rig's own, as no registry is reachable) and the topology.
 * Then the configuration a user applies: BGPConfig, the router as a BGPPeer, and the pools.
 */
export async function installBerth(cluster: RigKubeCluster, options: InstallOptions = {}): Promise<RigBerthInstall> {
  const progress = options.progress ?? (() => undefined);
  const topology = options.topology ?? 'central';
  const release = 'berth';
  const bird = await cluster.lab.startBird(birdConfig());
  const [natsRepository, natsTag] = cluster.images.nats.split(':');
  const [redisRepository, redisTag] = cluster.images.redis.split(':');
  const setArgs = [
    `topology=${topology}`,
    `nats.image.repository=${natsRepository ?? ''}`,
    `nats.image.tag=${natsTag ?? ''}`,
    `redis.image.repository=${redisRepository ?? ''}`,
    `redis.image.tag=${redisTag ?? ''}`,
    ...(options.tag === undefined ? [] : [`image.tag=${options.tag}`]),
    ...(options.busNode === undefined
      ? []
      : ['nats', 'redis'].map((server) => `${server}.nodeSelector.kubernetes\\.io/hostname=${options.busNode ?? ''}`)),
    ...(options.set ?? []),
  ];
  progress(`helm install ${release} (${topology} topology)`);
  const began = Date.now();
  await cluster.helm([
    'install',
    release,
    CHART_DIR,
    '--namespace',
    BERTH_NAMESPACE,
    '--create-namespace',
    ...setArgs.flatMap((value) => ['--set', value]),
    '--wait',
    '--timeout',
    '5m',
  ]);
  await cluster.kube.kubectl([
    'wait',
    '--for=condition=Ready',
    'pods',
    '--all',
    '-n',
    BERTH_NAMESPACE,
    '--timeout=180s',
  ]);
  const readySeconds = (Date.now() - began) / 1000;
  progress('configuring BGP (the lab router as peer) and the pools');
  const objects = [
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'BGPConfig',
      metadata: { name: 'default' },
      spec: { asn: CLUSTER_ASN, topology },
    },
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'BGPPeer',
      metadata: { name: 'router' },
      spec: {
        peerAddress: cluster.lab.router.ipv4,
        peerASN: ROUTER_ASN,
        myASN: CLUSTER_ASN,
        addPath: topology === 'central',
        // Without BFD, a dead node's session ends when its hold time runs out: the shortest allowed.
        holdTime: '3s',
      },
    },
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'default' },
      spec: { addresses: [BGP_POOL, BGP_POOL6], mode: 'bgp' },
    },
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'lan' },
      spec: {
        addresses: [LAYER2_POOL, LAYER2_POOL6],
        mode: 'layer2',
        autoAssign: false,
        layer2: { interfaces: ['eth0'] },
      },
    },
  ];
  await cluster.kube.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });
  return { release, namespace: BERTH_NAMESPACE, tag: options.tag ?? chartAppVersion(), bird, readySeconds };
}

/** Until every Deployment, DaemonSet and StatefulSet of the release has rolled out. */
async function rolledOut(cluster: RigKubeCluster, install: RigBerthInstall): Promise<void> {
  const names = await cluster.kube.kubectl([
    'get',
    'deployments,daemonsets,statefulsets',
    '-n',
    install.namespace,
    '-l',
    `app.kubernetes.io/instance=${install.release}`,
    '-o',
    'name',
  ]);
  for (const name of names.split('\n').filter((line) => line !== '')) {
    await cluster.kube.kubectl(['rollout', 'status', name, '-n', install.namespace, '--timeout=300s']);
  }
}

/**
 * `helm upgrade` to Berth's images under another tag, which every node's containerd then also
 * holds (the same images: what the upgrade exercises is every component rolling, node-agents and
 * speakers included). Resolves once every workload has rolled out: the install as it now runs.
 */
export async function upgradeBerth(
  cluster: RigKubeCluster,
  install: RigBerthInstall,
  tag: string,
): Promise<RigBerthInstall> {
  for (const node of cluster.nodes) {
    for (const name of BERTH_IMAGES) {
      await node.ctr('images', 'tag', '--force', berthImage(name, install.tag), berthImage(name, tag));
    }
  }
  await cluster.helm([
    'upgrade',
    install.release,
    CHART_DIR,
    '--namespace',
    install.namespace,
    '--reuse-values',
    '--set',
    `image.tag=${tag}`,
    '--wait',
    '--timeout',
    '5m',
  ]);
  const upgraded = { ...install, tag };
  await rolledOut(cluster, upgraded);
  return upgraded;
}

/** `helm uninstall --wait`, its post-delete hook included; BIRD stays, to show what is left. */
export async function uninstallBerth(cluster: RigKubeCluster, install: RigBerthInstall): Promise<void> {
  await cluster.helm(['uninstall', install.release, '--namespace', install.namespace, '--wait', '--timeout', '5m']);
}
