import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { Buckets, connectBus, type BucketSpec } from '@berth/bus';
import { runService } from '@berth/runtime';
import { Counter } from 'prom-client';
import { watcherConfig } from './config.js';
import { HttpKubeApi } from './kube/api.js';
import { ClusterState } from './publish/cluster-state.js';
import { Outbox } from './publish/outbox.js';
import { watchCluster } from './watch-cluster.js';

await runService({
  component: 'watcher',
  config: watcherConfig,
  async start({ config, logger, readiness, registry, signal }) {
    const kc = new KubeConfig();
    if (config.kubeconfig === undefined) kc.loadFromCluster();
    else kc.loadFromFile(config.kubeconfig);
    const bus = await connectBus(config, { name: `watcher-${hostname()}`, logger, readiness, registry });

    const written = new Counter({
      name: 'berth_watcher_snapshots_written_total',
      help: 'Snapshots and tombstones written to the bus, by bucket',
      labelNames: ['bucket', 'op'],
      registers: [registry],
    });
    const outbox = async <T extends { key: string }>(spec: BucketSpec<T>) => {
      const bucket = await bus.bucket(spec);
      const box = new Outbox(bucket, logger, {
        concurrency: config.publishConcurrency,
        onWritten: (op) => written.inc({ bucket: bucket.name, op }),
      });
      box.seed(await bucket.current());
      return box;
    };
    const targets = {
      services: await outbox(Buckets.services),
      endpoints: await outbox(Buckets.endpoints),
      nodes: await outbox(Buckets.nodes),
      pools: await outbox(Buckets.pools),
      bgpPeers: await outbox(Buckets.bgpPeers),
      bgpConfig: await outbox(Buckets.bgpConfig),
    };
    const boxes = Object.values(targets);
    const state = new ClusterState(
      targets,
      { className: config.loadBalancerClass, isDefault: config.defaultClass },
      logger,
    );

    const watches = watchCluster({
      api: new HttpKubeApi(kc),
      state,
      namespace: config.namespace,
      logger,
      readiness,
      signal,
      onFirstSync: () => boxes.forEach((b) => b.prune()),
    });
    const resync = setInterval(() => boxes.forEach((b) => b.rewriteAll()), config.resyncSeconds * 1000);

    return [
      () => bus.close(),
      async () => {
        clearInterval(resync);
        await Promise.allSettled(watches);
        await Promise.race([Promise.all(boxes.map((b) => b.drained())), new Promise((r) => setTimeout(r, 2000))]);
        boxes.forEach((b) => b.stop());
      },
    ];
  },
});
