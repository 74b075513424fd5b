import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** One pool's addresses of one family, as the usage gauges report them. */
export interface PoolFamilyUsage {
  readonly pool: string;
  readonly family: string;
  readonly total: bigint;
  readonly inUse: number;
  readonly free: bigint;
}

export type IpamMetrics = ReturnType<typeof ipamMetrics>;

/** ipam's metrics; the pool usage gauges read `usage()` when scraped. */
export function ipamMetrics(registry: Registry, usage: () => Iterable<PoolFamilyUsage>) {
  const registers = [registry];
  const usageGauge = (name: string, help: string, pick: (u: PoolFamilyUsage) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool', 'family'],
      registers,
      collect() {
        this.reset();
        for (const u of usage()) this.set({ pool: u.pool, family: u.family }, pick(u));
      },
    });
  return {
    granted: new Counter({
      name: 'berth_ipam_leases_granted_total',
      help: 'Leases granted, by pool',
      labelNames: ['pool'],
      registers,
    }),
    refused: new Counter({
      name: 'berth_ipam_leases_refused_total',
      help: 'Services refused an address, by reason',
      labelNames: ['reason'],
      registers,
    }),
    latency: new Histogram({
      name: 'berth_ipam_lease_duration_seconds',
      help: 'Time to decide and claim one new lease in Redis',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    addresses: usageGauge('berth_ipam_pool_addresses', 'Addresses a pool can lease, by family', (u) => Number(u.total)),
    inUse: usageGauge('berth_ipam_pool_addresses_in_use', 'Addresses leased from a pool, by family', (u) => u.inUse),
    free: usageGauge('berth_ipam_pool_addresses_free', 'Addresses a pool can still lease, by family', (u) =>
      Number(u.free),
    ),
  };
}
