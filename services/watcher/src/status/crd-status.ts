import type { Logger } from '@berth/runtime';
import type { KubeApi } from '@berth/kube';
import { KeyedWorker } from '@berth/runtime';

const RETRY_MS = 1000;

/** A worker that reconciles one Berth object's status per key, logging and retrying failures. */
export function crdStatusWorker(
  kind: 'IPPool' | 'BGPPeer',
  logger: Logger,
  reconcile: (name: string) => Promise<void>,
  options: { concurrency: number; active: () => boolean },
): KeyedWorker {
  return new KeyedWorker(reconcile, {
    ...options,
    retryMs: RETRY_MS,
    onError: (name, error) => {
      logger.warn({ kind, name, err: error }, `could not update ${kind} status; will retry`);
      return 'retry';
    },
  });
}

/** Server-side applies Berth's fields of a cluster-scoped berth.dev object's status. */
export function applyCrdStatus(
  api: KubeApi,
  target: { kind: 'IPPool' | 'BGPPeer'; plural: string; name: string; uid: string },
  status: object,
): Promise<unknown> {
  return api.apply(
    `/apis/berth.dev/v1alpha1/${target.plural}/${target.name}/status`,
    { apiVersion: 'berth.dev/v1alpha1', kind: target.kind, metadata: { name: target.name, uid: target.uid }, status },
    'berth-watcher',
  );
}
