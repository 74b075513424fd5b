import { createHash } from 'node:crypto';
import { newEvent, type AllocationSnapshot, type PoolSnapshot, type ServiceSnapshot } from '@berth/contracts';
import type { Bus } from '@berth/bus';
import { KeyedWorker, type Logger } from '@berth/runtime';
import { canonicalAddress, poolUsage } from '@berth/ipnet';
import type { Registry } from 'prom-client';
import { poolHolding, type Decision, type World } from './allocate/allocate.js';
import { leaseFor } from './allocate/lease.js';
import { LeaseIndex } from './allocate/lease-index.js';
import { leaseService, sharingOf } from './lease-service.js';
import { ipamMetrics, type IpamMetrics, type PoolFamilyUsage } from './metrics.js';
import type { LeaseStore } from './redis/lease-store.js';

/** Where allocations go: the allocations bucket. */
export interface AllocationSink {
  put(snapshot: AllocationSnapshot): Promise<unknown>;
  delete(key: string): Promise<void>;
}

const RETRY_MS = 1000;

/**
 * ipam's shell: follows Services, pools and namespaces, decides with `allocate`, makes each lease
 * real with one atomic claim in Redis, and publishes the outcome. Every replica runs the same
 * loop; Redis decides races. Nothing is leased before start() has restored what Redis lost.
 */
export class Ipam {
  readonly #services = new Map<string, ServiceSnapshot>();
  readonly #pools = new Map<string, PoolSnapshot>();
  readonly #namespaces = new Map<string, Readonly<Record<string, string>>>();
  readonly #leases = new LeaseIndex();
  readonly #uidOfKey = new Map<string, string>();
  readonly #published = new Map<string, string>();
  /** Services last refused: a released address may now fit them. */
  readonly #refusedKeys = new Set<string>();
  readonly #worker: KeyedWorker;
  #started = false;
  readonly #metrics: IpamMetrics;

  constructor(
    private readonly store: LeaseStore,
    private readonly allocations: AllocationSink,
    private readonly bus: Pick<Bus, 'publishEvent'>,
    private readonly logger: Logger,
    registry: Registry,
    private readonly source: string,
  ) {
    this.#worker = new KeyedWorker((key) => this.reconcile(key), {
      concurrency: 32,
      retryMs: RETRY_MS,
      active: () => this.#started,
      onError: (key, error) => {
        this.logger.warn({ service: key, err: error }, 'could not lease; will retry');
        return 'retry';
      },
    });
    this.#metrics = ipamMetrics(registry, () => this.#poolUsage());
  }

  /** Pool usage from the pools and the leases this replica knows, for the gauges. */
  *#poolUsage(): Generator<PoolFamilyUsage> {
    for (const pool of this.#pools.values()) {
      const leased = [...this.#leases.values()].filter((l) => l.pool === pool.key).flatMap((l) => l.addresses);
      for (const [family, usage] of Object.entries(poolUsage(pool.addresses, pool.avoidBuggyIPs, leased)))
        yield { pool: pool.key, family, ...usage };
    }
  }

  service(key: string, snapshot: ServiceSnapshot | undefined): void {
    if (snapshot === undefined) this.#services.delete(key);
    else this.#services.set(key, snapshot);
    this.#worker.touch(key);
  }

  /** A pool or namespace changed: refused Services may now fit (leases never move). */
  pool(key: string, snapshot: PoolSnapshot | undefined): void {
    if (snapshot === undefined) this.#pools.delete(key);
    else this.#pools.set(key, snapshot);
    this.#worker.touchAll(this.#services.keys());
  }

  namespace(key: string, labels: Readonly<Record<string, string>> | undefined): void {
    if (labels === undefined) this.#namespaces.delete(key);
    else this.#namespaces.set(key, labels);
    this.#worker.touchAll(this.#services.keys());
  }

  /**
   * Loads the leases and restores any Redis lost, then starts leasing. Call once the first full
   * state of Services, pools and namespaces has been read from the bus.
   */
  async start(): Promise<void> {
    for (const lease of (await this.store.all()).values()) this.#leases.set(lease);
    await this.restore();
    this.#started = true;
    this.#worker.touchAll(this.#services.keys());
  }

  /**
   * Puts back into Redis every lease this replica knows and every address already in a Service's
   * status, so an emptied Redis never hands those addresses to someone else.
   */
  async restore(): Promise<void> {
    let restored = 0;
    for (const lease of [...this.#leases.values()]) if ((await this.store.claim(lease)).type === 'claimed') restored++;
    for (const svc of this.#services.values()) {
      if (svc.ingress.length === 0 || svc.deleting || this.#leases.get(svc.uid) !== undefined) continue;
      const pool = poolHolding(this.world(), svc.ingress);
      const lease = leaseFor(svc, sharingOf(svc), {
        pool: pool?.key ?? '',
        mode: pool?.mode ?? 'bgp',
        addresses: svc.ingress,
      });
      const result = await this.store.claim(lease);
      if (result.type === 'claimed') restored++;
      if (result.type !== 'taken') this.#leases.set(result.type === 'existing' ? result.lease : lease);
      else
        this.logger.error(
          { service: svc.key, vip: svc.ingress, holder: result.holder },
          'address in status is leased to another Service',
        );
    }
    if (restored > 0) this.logger.warn({ restored }, 'restored leases Redis did not have');
  }

  stop(): void {
    this.#worker.stop();
  }

  private async reconcile(key: string): Promise<void> {
    const svc = this.#services.get(key);
    const knownUid = this.#uidOfKey.get(key);
    if (knownUid !== undefined && knownUid !== svc?.uid) await this.release(key, knownUid);
    if (svc === undefined || svc.deleting) {
      if (svc !== undefined) await this.release(key, svc.uid);
      this.#published.delete(key);
      this.#refusedKeys.delete(key);
      await this.allocations.delete(key);
      return;
    }
    this.#uidOfKey.set(key, svc.uid);
    const started = performance.now();
    const { decision, claimed } = await leaseService(svc, () => this.world(), this.store);
    if (claimed !== undefined) {
      this.#metrics.latency.observe((performance.now() - started) / 1000);
      this.#metrics.granted.inc({ pool: claimed.pool });
      this.logger.info({ service: key, vip: claimed.addresses, pool: claimed.pool }, 'leased');
      for (const vip of claimed.addresses) await this.event('vipAssigned', vip, svc, claimed.pool);
    }
    if (decision.type === 'assigned') this.#refusedKeys.delete(key);
    else if (!this.#refusedKeys.has(key)) {
      this.#refusedKeys.add(key);
      this.#metrics.refused.inc({ reason: decision.reason });
      this.logger.info({ service: key, reason: decision.reason, message: decision.message }, 'no address');
    }
    await this.publish(key, svc.uid, decision);
  }

  private async release(key: string, uid: string): Promise<void> {
    const lease = this.#leases.get(uid);
    await this.store.release(uid);
    this.#leases.delete(uid);
    this.#uidOfKey.delete(key);
    if (lease === undefined) return;
    this.logger.info({ service: key, vip: lease.addresses }, 'released');
    this.#worker.touchAll(this.#refusedKeys);
    for (const vip of lease.addresses) {
      await this.event('vipReleased', vip, { key: lease.service, uid }, lease.pool);
    }
  }

  private async publish(key: string, serviceUid: string, result: Decision): Promise<void> {
    const content = { v: 1 as const, key, serviceUid, result };
    const json = JSON.stringify(content);
    if (this.#published.get(key) === json) return;
    const revision = createHash('sha256').update(json).digest('base64url').slice(0, 16);
    await this.allocations.put({ v: 1, key, revision, serviceUid, result });
    this.#published.set(key, json);
  }

  private event(name: 'vipAssigned' | 'vipReleased', vip: string, svc: { key: string; uid: string }, pool: string) {
    const address = canonicalAddress(vip);
    return this.bus.publishEvent(
      name,
      newEvent(name, this.source, address, { vip: address, service: svc.key, serviceUid: svc.uid, pool }),
    );
  }

  private world(): World {
    return { pools: [...this.#pools.values()], namespaces: this.#namespaces, leases: this.#leases };
  }
}
