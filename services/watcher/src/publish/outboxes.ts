import { Buckets, type Bus, type BucketSpec } from '@berth/bus';
import type { Logger } from '@berth/runtime';
import { Counter, type Registry } from 'prom-client';
import { Outbox } from './outbox.js';

/** One outbox per bucket the watcher writes. */
export async function openOutboxes(
  bus: Bus,
  logger: Logger,
  registry: Registry,
  options: { concurrency: number; active: () => boolean },
) {
  const written = new Counter({
    name: 'berth_watcher_snapshots_written_total',
    help: 'Snapshots and tombstones written to the bus, by bucket',
    labelNames: ['bucket', 'op'],
    registers: [registry],
  });
  const open = async <T extends { key: string }>(spec: BucketSpec<T>) => {
    const bucket = await bus.bucket(spec);
    return new Outbox(bucket, logger, { ...options, onWritten: (op) => written.inc({ bucket: bucket.name, op }) });
  };
  return {
    services: await open(Buckets.services),
    endpoints: await open(Buckets.endpoints),
    nodes: await open(Buckets.nodes),
    namespaces: await open(Buckets.namespaces),
    pools: await open(Buckets.pools),
    bgpPeers: await open(Buckets.bgpPeers),
    bgpPeerSecrets: await open(Buckets.bgpPeerSecrets),
    bgpConfig: await open(Buckets.bgpConfig),
  };
}
