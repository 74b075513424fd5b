import { join } from 'node:path';

/** Where berth finds the cluster, in the order kubectl users expect (a flag first). */
export type KubeSource =
  | {
      readonly type: 'file';
      readonly path: string;
      readonly from: '--kubeconfig' | 'BERTH_KUBECONFIG' | '~/.kube/config';
    }
  /** KUBECONFIG, possibly a list of files, merged as kubectl merges them. */
  | { readonly type: 'KUBECONFIG' }
  | { readonly type: 'in-cluster' }
  | { readonly type: 'none' };

/** The in-cluster ServiceAccount token, present in a pod. */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Picks the cluster to read: --kubeconfig, BERTH_KUBECONFIG (as the watcher), KUBECONFIG,
 * ~/.kube/config, then the pod's ServiceAccount; none when there is nothing, so berth can say so
 * instead of trying localhost:8080 as the client library would.
 */
export function kubeSource(
  flag: string | undefined,
  environment: Readonly<Record<string, string | undefined>>,
  exists: (path: string) => boolean,
): KubeSource {
  if (flag !== undefined) return { type: 'file', path: flag, from: '--kubeconfig' };
  const berth = environment['BERTH_KUBECONFIG'];
  if (berth !== undefined && berth !== '') return { type: 'file', path: berth, from: 'BERTH_KUBECONFIG' };
  const list = environment['KUBECONFIG'];
  if (list !== undefined && list !== '') return { type: 'KUBECONFIG' };
  const home = environment['HOME'];
  if (home !== undefined && home !== '') {
    const path = join(home, '.kube', 'config');
    if (exists(path)) return { type: 'file', path, from: '~/.kube/config' };
  }
  if (environment['KUBERNETES_SERVICE_HOST'] !== undefined && exists(SERVICE_ACCOUNT_TOKEN))
    return { type: 'in-cluster' };
  return { type: 'none' };
}
