import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startClusterControlPlane, type RigClusterControlPlane } from './control-plane.js';
import { startDocker } from './docker.js';
import { runHelm } from './helm.js';
import {
  BERTH_IMAGES,
  berthImage,
  buildBerthImages,
  makeBaseImages,
  makeClusterImages,
  saveImages,
  type RigBaseImages,
  type RigClusterImages,
} from './images.js';
import { startKubeNode, type RigKubeNode } from './kube-node.js';
import { startLab, type LabHost, type RigLab } from './lab.js';
import { makeRigDir, stopAndRemove } from './process.js';
import { RigError } from './errors.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/**
 * Every node's pods together, dual-stack: one /24 per node from 198.18.65.0 (198.18.0.0/15: test
 * labs) and one /64 per node from 2001:db8:64:1:: (documentation).
 */
const CLUSTER_CIDRS = ['198.18.64.0/18', '2001:db8:64::/48'] as const;
const podCidrs = (index: number) => [`198.18.${65 + index}.0/24`, `2001:db8:64:${index + 1}::/64`] as const;
/** The cluster DNS Service's address, in the Service range. */
const CLUSTER_DNS = '198.51.100.10';

export interface KubeClusterOptions {
  /** @default 3 */
  readonly nodes?: number;
  /** Also build Berth's images with scripts/images and load them into every node. @default true */
  readonly berthImages?: boolean;
  readonly progress?: (step: string) => void;
}

/**
 * A Kubernetes cluster in the lab: the control plane on host `cp`, workers `node1`… on the LAN
 * (each its own containerd, kubelet and kube-proxy), the router, and a `client` host that is on
 * the LAN and also behind the router. Every image its pods run was built by the rig's Docker
 * engine and imported into each node's containerd: nothing is pulled.
 */
export interface RigKubeCluster {
  readonly dir: string;
  readonly lab: RigLab;
  readonly kube: RigClusterControlPlane;
  readonly nodes: readonly RigKubeNode[];
  readonly client: LabHost;
  readonly images: RigBaseImages & RigClusterImages;
  /** Seconds each phase took: images, control plane, nodes Ready, DNS. */
  readonly timings: Readonly<Record<string, number>>;
  /** Runs the setup's helm against the cluster; rejects with helm's stderr. */
  helm(args: readonly string[]): Promise<string>;
  /** One HTTP GET from the client host with curl: the body, or a rejection saying why. */
  curl(url: string, timeoutMs?: number): Promise<string>;
  /**
   * A steady stream of GETs from the client host, one every `intervalMs` (20) for `durationMs` or
   * until `signal` aborts, each on a new connection with a 500 ms timeout: how many were sent and
   * failed, the longest time without an answer, and the answers by body (the pod names).
   */
  requestStream(url: string, options: RequestStreamOptions): Promise<RequestStream>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface RequestStreamOptions {
  readonly durationMs: number;
  readonly intervalMs?: number;
  /** Ends the stream early; the requests in flight still count. */
  readonly signal?: AbortSignal;
}

/** What a request stream saw. */
export interface RequestStream {
  readonly sent: number;
  readonly failed: number;
  readonly longestGapMs: number;
  readonly answers: Readonly<Record<string, number>>;
}

const streamScript = join(dirname(fileURLToPath(import.meta.url)), 'http-stream.js');

export async function startKubeCluster(options: KubeClusterOptions = {}): Promise<RigKubeCluster> {
  const count = options.nodes ?? 3;
  const progress = options.progress ?? (() => undefined);
  const nodeNames = Array.from({ length: count }, (_, i) => `node${i + 1}`);
  const dir = makeRigDir('cluster');
  const cleanups: (() => Promise<unknown>)[] = [];
  const timings: Record<string, number> = {};
  const timed = async <T>(what: string, step: Promise<T>): Promise<T> => {
    const began = Date.now();
    const value = await step;
    timings[what] = (Date.now() - began) / 1000;
    return value;
  };
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
    await stopAndRemove([], [dir]);
  };
  try {
    progress(`creating the lab: a control-plane host, ${count} nodes, a client and a router`);
    const lab = await startLab(['cp', ...nodeNames, 'client'], { uplinks: ['client'] });
    cleanups.push(() => lab.stop());
    const host = (name: string) => {
      const found = lab.hosts.find((h) => h.name === name);
      if (found === undefined) throw new RigError(`the lab has no host ${name}`, 'RIG_BAD_OPTION');
      return found;
    };
    const workers = nodeNames.map(host);
    const tarball = join(dir, 'images.tar');
    progress('building the images (rig bases, DNS, test workload, Berth) and starting the control plane');
    const [images, kube] = await Promise.all([
      timed('images', prepareImages(tarball, options.berthImages ?? true)),
      timed(
        'controlPlane',
        startClusterControlPlane(host('cp'), [
          ...nodeNames.map((name) => ({ name: `system:node:${name}`, groups: ['system:nodes'] })),
          { name: 'system:kube-proxy', groups: [] },
        ]),
      ),
    ]);
    cleanups.push(() => kube.stop());
    await routePods(lab, host('cp'), workers);
    // Kubelets review the API server's requests to them (TokenReview, SubjectAccessReview).
    await kube.kubectl([
      'create',
      'clusterrolebinding',
      'berth-rig-nodes-auth-delegator',
      '--clusterrole=system:auth-delegator',
      '--group=system:nodes',
    ]);

    progress(`starting ${count} nodes (containerd, kubelet, kube-proxy) and importing the images`);
    const nodes = await timed(
      'nodes',
      (async () => {
        const started = await Promise.all(
          workers.map((worker, i) =>
            startKubeNode({
              host: worker,
              dir,
              podCidrs: podCidrs(i),
              clusterCidrs: CLUSTER_CIDRS,
              clusterDns: CLUSTER_DNS,
              ca: kube.ca,
              kubeletKubeconfig: kube.kubeconfigFor(`system:node:${worker.name}`),
              proxyKubeconfig: kube.kubeconfigFor('system:kube-proxy'),
              images: tarball,
              sandboxImage: images.pause,
            }).then((node) => {
              cleanups.push(() => node.kill());
              return node;
            }),
          ),
        );
        await waitNodesReady(kube, started);
        return started;
      })(),
    );
    progress('starting the cluster DNS');
    await timed('dns', startDns(kube, images.coredns));
    const client = host('client');
    return {
      dir,
      lab,
      kube,
      nodes,
      client,
      images,
      timings,
      helm: (args) => runHelm(['--kubeconfig', kube.kubeconfig, ...args], 900_000),
      async curl(url, timeoutMs = 3000) {
        const seconds = (timeoutMs / 1000).toFixed(1);
        return lab.exec(
          client.netns,
          requireTool('curl'),
          '--silent',
          '--show-error',
          '--fail',
          // IPv6 literals in brackets, not URL globbing.
          '--globoff',
          '--max-time',
          seconds,
          url,
        );
      },
      async requestStream(url, { durationMs, intervalMs = 20, signal }) {
        // `ip netns exec` execs the script, so the child is the script and SIGTERM reaches it.
        const child = run(
          requireTool('ip'),
          ['netns', 'exec', client.netns, process.execPath, streamScript, url, `${durationMs}`, `${intervalMs}`, '500'],
          { timeout: durationMs + 30_000 },
        );
        const stop = () => child.child.kill('SIGTERM');
        if (signal?.aborted === true) stop();
        signal?.addEventListener('abort', stop, { once: true });
        try {
          return JSON.parse((await child).stdout) as RequestStream;
        } finally {
          signal?.removeEventListener('abort', stop);
        }
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Until every node has registered and is Ready; else an error with the kubelet logs of those that are not. */
async function waitNodesReady(
  kube: RigClusterControlPlane,
  nodes: readonly RigKubeNode[],
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting: readonly RigKubeNode[] = nodes;
  while (Date.now() < deadline) {
    const list = JSON.parse(await kube.kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    };
    const ready = new Set(
      list.items
        .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((n) => n.metadata.name),
    );
    waiting = nodes.filter((n) => !ready.has(n.name));
    if (waiting.length === 0) return;
    await sleep(250);
  }
  const logs = await Promise.all(waiting.map(async (n) => `${n.name}'s kubelet:\n${await n.logTail('kubelet')}`));
  throw new RigError(
    `nodes not Ready within ${timeoutMs} ms: ${waiting.map((n) => n.name).join(', ')}\n${logs.join('\n')}`,
    'RIG_SERVER_TIMEOUT',
  );
}

/**
 * The rig's images and, when asked, Berth's, built in the rig's Docker engine (from its layer
 * cache when nothing changed) and saved into one tarball for the nodes; the engine then stops.
 */
async function prepareImages(tarball: string, berth: boolean): Promise<RigBaseImages & RigClusterImages> {
  const docker = await startDocker();
  try {
    const base = await makeBaseImages(docker);
    const cluster = await makeClusterImages(docker, base);
    if (berth) await buildBerthImages(docker, base);
    const all = { ...base, ...cluster };
    await saveImages(
      docker,
      [
        all.pause,
        all.coredns,
        all.echo,
        all.nats,
        all.redis,
        ...(berth ? BERTH_IMAGES.map((name) => berthImage(name)) : []),
      ],
      tarball,
    );
    return all;
  } finally {
    await docker.stop();
  }
}

/**
 * Each node's pod ranges routed to it from the other nodes, the control plane and the router:
 * pods reach each other and the API server without NAT. Everything else goes to the router.
 */
async function routePods(lab: RigLab, cp: LabHost, workers: readonly LabHost[]): Promise<void> {
  const route = (netns: string, ...args: string[]) => lab.exec(netns, 'ip', ...args);
  for (const netns of [cp.netns, ...workers.map((w) => w.netns)]) {
    await route(netns, '-4', 'route', 'add', 'default', 'via', lab.router.ipv4);
    await route(netns, '-6', 'route', 'add', 'default', 'via', lab.router.ipv6);
  }
  for (const [i, worker] of workers.entries()) {
    const [ipv4, ipv6] = podCidrs(i);
    for (const other of [lab.router, cp, ...workers]) {
      if (other === worker) continue;
      await route(other.netns, '-4', 'route', 'add', ipv4, 'via', worker.ipv4);
      await route(other.netns, '-6', 'route', 'add', ipv6, 'via', worker.ipv6);
    }
  }
}

/** CoreDNS as the cluster's DNS (kube-dns at CLUSTER_DNS), with the access its kubernetes plugin needs. */
async function startDns(kube: RigClusterControlPlane, image: string): Promise<void> {
  const ns = 'kube-system';
  const labels = { 'k8s-app': 'kube-dns' };
  const corefile = `.:1053 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
    loadbalance
}
`;
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'berth-rig:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'berth-rig:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'berth-rig:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: ns }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: ns }, data: { Corefile: corefile } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            dnsPolicy: 'Default',
            containers: [
              {
                name: 'coredns',
                image,
                imagePullPolicy: 'Never',
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: 1053, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 1053, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                securityContext: {
                  runAsNonRoot: true,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: ns, labels },
      spec: {
        clusterIP: CLUSTER_DNS,
        selector: labels,
        ports: [
          { name: 'dns', port: 53, targetPort: 1053, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: 1053, protocol: 'TCP' },
        ],
      },
    },
  ];
  await kube.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });
  await kube.kubectl(['rollout', 'status', '-n', ns, 'deployment/coredns', '--timeout=120s']);
}
