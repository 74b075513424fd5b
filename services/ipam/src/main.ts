import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Buckets, connectBus, type BucketSpec } from '@berth/bus';
import { runService } from '@berth/runtime';
import { ipamConfig } from './config.js';
import { Ipam } from './ipam.js';
import { connectRedis } from './redis/connect.js';
import { LeaseStore } from './redis/lease-store.js';

await runService({
  component: 'ipam',
  config: ipamConfig,
  async start({ config, logger, readiness, registry, signal }) {
    const bus = await connectBus(config, { name: `ipam-${hostname()}`, logger, readiness, registry });
    // Redis can come back empty after a restart: put back every lease ipam knows.
    const redis = connectRedis(config, logger, readiness, () => {
      shell
        .restore()
        .catch((error: unknown) => logger.error({ err: error }, 'could not restore leases after reconnecting'));
    });
    const allocations = await bus.bucket(Buckets.allocations);
    const shell = new Ipam(
      new LeaseStore(redis, config.redisPrefix),
      allocations,
      bus,
      logger,
      registry,
      `berth/ipam/${hostname()}`,
    );

    // Leasing waits for the first full state of every input, then for Redis.
    readiness.notReady('leases', 'reading Services, pools and namespaces');
    const pending = new Set(['services', 'pools', 'namespaces']);
    const initialized = async (name: string) => {
      pending.delete(name);
      if (pending.size > 0) return;
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
    const follow = async <T extends { key: string }>(
      name: string,
      spec: BucketSpec<T>,
      apply: (key: string, value: T | undefined) => void,
    ) => {
      const bucket = await bus.bucket(spec);
      for await (const change of bucket.watch(signal)) {
        if (change.type === 'initialized') void initialized(name);
        else apply(change.key, change.type === 'put' ? change.value : undefined);
      }
    };
    const follows = [
      follow('services', Buckets.services, (key, value) => shell.service(key, value)),
      follow('pools', Buckets.pools, (key, value) => shell.pool(key, value)),
      follow('namespaces', Buckets.namespaces, (key, value) => shell.namespace(key, value?.labels)),
    ];
    return [
      () => bus.close(),
      async () => {
        await Promise.allSettled(follows);
        shell.stop();
        redis.disconnect();
      },
    ];
  },
});
