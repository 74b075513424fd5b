import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RigControlPlane } from './control-plane.js';
import { CHART_DIR, renderChart } from './helm.js';

/** The namespace Berth's chart installs into, where the watcher keeps its Lease. */
export const BERTH_NAMESPACE = 'berth-system';

/** kubectl against one cluster, with `input` on its stdin. */
export type Kubectl = (args: readonly string[], input?: string) => Promise<string>;

/** A Node as a kubelet would have registered it, at these addresses. */
export interface NodeAddresses {
  readonly name: string;
  readonly ipv4: string;
  readonly ipv6?: string;
}

/** Berth's CRDs (server-side, as the README says) and its namespace, once the API serves them. */
export async function installBerthApi(kubectl: Kubectl): Promise<void> {
  await kubectl(['apply', '--server-side', '-f', join(CHART_DIR, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(CHART_DIR, 'crds')]);
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: BERTH_NAMESPACE } }),
  );
}

/** Every collection the watcher lists, as `kubectl get` arguments. */
const WATCHED = [
  ['services', '-A'],
  ['endpointslices.discovery.k8s.io', '-A'],
  ['nodes'],
  ['namespaces'],
  ['ippools.berth.dev'],
  ['bgppeers.berth.dev'],
  ['bgpconfigs.berth.dev'],
  ['secrets', '-n', BERTH_NAMESPACE],
] as const;

/**
 * The watcher's ServiceAccount and RBAC as the chart renders them, and a kubeconfig with that
 * account's token: a watcher outside the cluster runs with exactly the chart's permissions.
 * Resolves once the API server serves that account every collection the watcher lists (Berth's
 * CRDs installed first): a grant or a CRD only just applied can be refused for a moment.
 */
export async function watcherKubeconfig(kube: RigControlPlane): Promise<string> {
  await kube.kubectl(['apply', '-f', '-'], {
    input: await renderChart({}, { showOnly: ['templates/watcher/rbac.yaml'] }),
  });
  const as = `--as=system:serviceaccount:${BERTH_NAMESPACE}:berth-watcher`;
  for (const collection of WATCHED) {
    for (let attempt = 1; ; attempt++) {
      try {
        await kube.kubectl(['get', ...collection, as, '-o', 'name']);
        break;
      } catch (error) {
        if (attempt === 100) throw error;
        await sleep(100);
      }
    }
  }
  return kube.serviceAccountKubeconfig(BERTH_NAMESPACE, 'berth-watcher');
}

/** Registers `node` as Ready with its InternalIPs, as its kubelet would. */
export async function registerNode(kube: RigControlPlane, node: NodeAddresses): Promise<void> {
  const spec = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: { 'kubernetes.io/os': 'linux' } },
  };
  const status = {
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'rig node' }],
      addresses: [
        { type: 'InternalIP', address: node.ipv4 },
        ...(node.ipv6 === undefined ? [] : [{ type: 'InternalIP', address: node.ipv6 }]),
        { type: 'Hostname', address: node.name },
      ],
    },
  };
  await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(spec) });
  await kube.kubectl([
    'patch',
    'node',
    node.name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify(status),
  ]);
}
