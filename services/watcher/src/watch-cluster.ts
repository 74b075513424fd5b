import type { Logger, Readiness } from '@berth/runtime';
import type { KubeApi, KubeObject } from '@berth/kube';
import { ListWatch } from './kube/list-watch.js';
import type { ClusterState } from './publish/cluster-state.js';
import type {
  BGPConfigObject,
  BGPPeerObject,
  EndpointSliceObject,
  IPPoolObject,
  NodeObject,
  SecretObject,
  ServiceObject,
} from './snapshots/objects.js';

interface Feed {
  path: string;
  upsert: (object: KubeObject) => void;
  remove: (object: KubeObject) => void;
}

// Each feed casts its objects to the fields it reads; the API server is the source of their shape.
function feed<T extends KubeObject>(path: string, upsert: (o: T) => void, remove: (o: T) => void): Feed {
  return { path, upsert: upsert as (o: KubeObject) => void, remove: remove as (o: KubeObject) => void };
}

/**
 * Follows every collection the watcher reads, feeding the cluster state. `onFirstSync` runs once
 * every collection has been listed completely, which is when stale snapshots may be pruned.
 */
export function watchCluster(options: {
  api: KubeApi;
  state: ClusterState;
  namespace: string;
  logger: Logger;
  readiness: Readiness;
  signal: AbortSignal;
  onFirstSync: () => void;
}): Promise<void>[] {
  const { api, state, namespace, logger, readiness, signal } = options;
  const feeds = [
    feed<ServiceObject>(
      '/api/v1/services',
      (o) => state.service(o),
      (o) => state.serviceGone(o),
    ),
    feed<EndpointSliceObject>(
      '/apis/discovery.k8s.io/v1/endpointslices',
      (o) => state.slice(o),
      (o) => state.sliceGone(o),
    ),
    feed<NodeObject>(
      '/api/v1/nodes',
      (o) => state.node(o),
      (o) => state.nodeGone(o),
    ),
    feed<KubeObject>(
      '/api/v1/namespaces',
      (o) => state.namespace(o),
      (o) => state.namespaceGone(o),
    ),
    feed<IPPoolObject>(
      '/apis/berth.dev/v1alpha1/ippools',
      (o) => state.pool(o),
      (o) => state.poolGone(o),
    ),
    feed<BGPPeerObject>(
      '/apis/berth.dev/v1alpha1/bgppeers',
      (o) => state.peer(o),
      (o) => state.peerGone(o),
    ),
    feed<BGPConfigObject>(
      '/apis/berth.dev/v1alpha1/bgpconfigs',
      (o) => state.config(o),
      (o) => state.configGone(o),
    ),
    feed<SecretObject>(
      `/api/v1/namespaces/${namespace}/secrets`,
      (o) => state.secret(o),
      (o) => state.secretGone(o),
    ),
  ];
  const unsynced = new Set(feeds.map((f) => f.path));
  readiness.notReady('kube', `listing ${[...unsynced].join(', ')}`);
  return feeds.map((f) =>
    new ListWatch(
      api,
      f.path,
      {
        upsert: f.upsert,
        remove: f.remove,
        synced: () => {
          if (!unsynced.delete(f.path) || unsynced.size > 0) return;
          readiness.ready('kube');
          logger.info('every collection listed');
          options.onFirstSync();
        },
      },
      logger,
    ).run(signal),
  );
}
