import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { BucketFollower, Buckets, connectBus } from '@berth/bus';
import { runService } from '@berth/runtime';
import { ipamConfig } from './config.js';
import { Ipam } from './ipam.js';
import { connectRedis, onReconnect } from './redis/connect.js';
import { LeaseStore } from './redis/lease-store.js';

await runService({
  component: 'ipam',
  config: ipamConfig,
  async start({ config, logger, readiness, registry, signal }) {
    const bus = await connectBus(config, { name: `ipam-${hostname()}`, identity: 'ipam', logger, readiness, registry });
    const allocations = await bus.bucket(Buckets.allocations);
    const redis = connectRedis(config, logger, readiness);
    const shell = new Ipam(
      new LeaseStore(redis, config.redisPrefix, {
        minReplicas: config.redisMinReplicas,
        replicaTimeoutMs: config.redisReplicaTimeoutMs,
      }),
      allocations,
      bus,
      logger,
      registry,
      `berth/ipam/${hostname()}`,
    );
    // Redis can come back empty after a restart, be emptied while up, or be a promoted replica that
    // missed the last leases: put back every lease ipam knows.
    onReconnect(redis, () => {
      logger.info('reconnected to Redis: restoring leases');
      void shell.repair();
    });
    const checking = shell.watchIntact(signal, config.intactCheckMs);

    // Leasing waits for the first full state of every input, then for Redis.
    readiness.notReady('leases', 'reading Services, pools and namespaces');
    const startLeasing = async () => {
      readiness.notReady('leases', 'loading leases from Redis');
      while (!signal.aborted) {
        try {
          await shell.start();
          readiness.ready('leases');
          logger.info('leasing');
          return;
        } catch (error) {
          logger.warn({ err: error }, 'could not load leases; will retry');
          await sleep(1000, undefined, { signal }).catch(() => undefined);
        }
      }
    };
    const inputs = new BucketFollower(bus, signal, () => void startLeasing());
    inputs.follow(Buckets.services, (key, value) => shell.service(key, value));
    inputs.follow(Buckets.pools, (key, value) => shell.pool(key, value));
    inputs.follow(Buckets.namespaces, (key, value) => shell.namespace(key, value?.labels));
    return [
      () => bus.close(),
      async () => {
        await Promise.all([inputs.done(), checking]);
        shell.stop();
        redis.disconnect();
      },
    ];
  },
});
