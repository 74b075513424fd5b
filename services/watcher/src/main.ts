import { BucketFollower, Buckets, connectBus } from '@berth/bus';
import { runService } from '@berth/runtime';
import { watcherConfig } from './config.js';
import { kubeApiFor } from '@berth/kube';
import { ApiReach } from './kube/api-reach.js';
import { LeaderElector } from './kube/leader.js';
import { ClusterState, statusObjects } from './publish/cluster-state.js';
import { openOutboxes } from './publish/outboxes.js';
import { PeerStatusWriter } from './status/peer-status-writer.js';
import { PoolStatusWriter } from './status/pool-status-writer.js';
import { StatusWriter } from './status/status-writer.js';
import { watchCluster } from './watch-cluster.js';

await runService({
  component: 'watcher',
  config: watcherConfig,
  async start({ config, logger, readiness, registry, signal }) {
    if (config.renewDeadlineMs >= config.leaseDurationMs) {
      throw new Error('BERTH_LEASE_RENEW_DEADLINE_MS must be shorter than BERTH_LEASE_DURATION_MS');
    }
    const api = kubeApiFor(config.kubeconfig);
    const bus = await connectBus(config, {
      name: `watcher-${config.identity}`,
      identity: 'watcher',
      logger,
      readiness,
      registry,
    });
    // Every replica, so the buckets exist while a leader is still being elected.
    await bus.ensureTopology();

    // Every replica follows the cluster; only the leader writes (outboxes and status wait for it).
    const leader = new LeaderElector(
      api,
      {
        namespace: config.namespace,
        name: config.leaseName,
        identity: config.identity,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.leaseRetryMs,
      },
      logger,
      new ApiReach(readiness, logger, registry),
    );
    const active = () => leader.isLeader;
    const targets = await openOutboxes(bus, logger, registry, { concurrency: config.publishConcurrency, active });
    const objects = statusObjects();
    const writer = new StatusWriter(api, (key) => objects.services.get(key), logger, {
      reportingInstance: config.identity,
      concurrency: 16,
      active,
    });
    const pools = new PoolStatusWriter(api, () => objects.pools, logger, { concurrency: 4, active });
    const peers = new PeerStatusWriter(api, () => objects.peers, logger, { concurrency: 4, active });
    const policy = { className: config.loadBalancerClass, isDefault: config.defaultClass };
    const state = new ClusterState(targets, policy, logger, objects, {
      serviceChanged: (key) => writer.touch(key),
      poolsChanged: () => pools.poolsChanged(),
      peersChanged: () => peers.peersChanged(),
    });

    // ipam's decisions and the speakers' sessions, for status; nothing waits for their first full state.
    const results = new BucketFollower(bus, signal, () => undefined);
    results.follow(Buckets.allocations, (key, allocation) => {
      writer.allocation(key, allocation);
      pools.allocation(key, allocation);
    });
    results.follow(Buckets.peerSessions, (key, session) => peers.session(key, session));
    const outboxes = Object.values(targets);
    const watches = watchCluster({
      api,
      state,
      namespace: config.namespace,
      logger,
      readiness,
      signal,
      onFirstSync: () => outboxes.forEach((o) => o.prune()),
    });
    const leading = leader.run(signal, () => {
      for (const outbox of outboxes) void outbox.takeOver();
      writer.touchAll(objects.services.keys());
      pools.poolsChanged();
      peers.peersChanged();
    });
    const resync = setInterval(() => outboxes.forEach((o) => o.rewriteAll()), config.resyncSeconds * 1000);

    return [
      () => bus.close(),
      async () => {
        clearInterval(resync);
        await Promise.allSettled([...watches, results.done(), leading]);
        for (const w of [writer, pools, peers]) w.stop();
        const drained = Promise.all(outboxes.map((o) => o.drained()));
        await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 2000))]);
        outboxes.forEach((o) => o.stop());
        await leader.release();
      },
    ];
  },
});
