import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newEvent, type AllocationSnapshot, type PoolSnapshot, type ServiceSnapshot } from '@berth/contracts';
import type { Bus } from '@berth/bus';
import { KeyedWorker, type Logger } from '@berth/runtime';
import { canonicalAddress, poolUsage } from '@berth/ipnet';
import type { Registry } from 'prom-client';
import { poolHolding, type Decision, type World } from './allocate/allocate.js';
import { leaseFor, type Lease } from './allocate/lease.js';
import { LeaseIndex } from './allocate/lease-index.js';
import { LeasesLostError, leaseService, sharingOf } from './lease-service.js';
import { ipamMetrics, type IpamMetrics, type PoolFamilyUsage } from './metrics.js';
import type { LeaseStore } from './redis/lease-store.js';

/** Where allocations go: the allocations bucket, read back when Redis lost its leases. */
export interface AllocationSink {
  put(snapshot: AllocationSnapshot): Promise<unknown>;
  delete(key: string): Promise<void>;
  current(): Promise<Map<string, AllocationSnapshot>>;
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
  #repairing: Promise<void> | undefined;
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
        if (error instanceof LeasesLostError) void this.repair();
        else this.logger.warn({ service: key, err: error }, 'could not lease; will retry');
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

  /** Restores the leases unless a restore is running already; claims wait meanwhile (`lost`). */
  repair(): Promise<void> {
    this.#repairing ??= this.restore()
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not restore the leases; will retry'))
      .finally(() => (this.#repairing = undefined));
    return this.#repairing;
  }

  /** Checks every `everyMs` that Redis still holds its leases, and restores them when not. */
  async watchIntact(signal: AbortSignal, everyMs: number): Promise<void> {
    while (!signal.aborted) {
      await sleep(everyMs, undefined, { signal }).catch(() => undefined);
      if (!this.#started) continue;
      const intact = await this.store.intact().catch(() => true); // Redis away: its reconnect restores.
      if (!intact) {
        this.logger.warn(
          'Redis may have lost leases (emptied, or a new primary): restoring them before leasing anything',
        );
        await this.repair();
      }
    }
  }

  /**
   * Puts back into Redis every lease this replica knows, every one the allocations bucket says
   * was granted, and every address already in a Service's status, then marks the store intact:
   * until then Redis refuses new claims, so an emptied Redis (or a promoted replica that missed
   * the last leases) never hands those addresses to someone else. A lease of this replica's that
   * no one was told of and that another Service now holds is dropped, and its Service decided again.
   */
  async restore(): Promise<void> {
    const history = await this.store.history();
    let restored = 0;
    const put = async (lease: Lease, source: string) => {
      const result = await this.store.restore(lease);
      if (result.type === 'claimed') restored++;
      if (result.type !== 'taken') {
        this.#leases.set(result.type === 'existing' ? result.lease : lease);
        return;
      }
      this.logger.error(
        { service: lease.service, vip: lease.addresses, holder: result.holder, source },
        'address to restore is leased to another Service',
      );
      if (this.#leases.get(lease.serviceUid) === lease) {
        this.#leases.delete(lease.serviceUid);
        this.#published.delete(lease.service);
        this.#worker.touch(lease.service);
      }
    };
    for (const lease of [...this.#leases.values()]) await put(lease, 'leases');
    for (const allocation of (await this.allocations.current()).values()) {
      const svc = this.#services.get(allocation.key);
      const { result } = allocation;
      if (svc === undefined || svc.uid !== allocation.serviceUid || svc.deleting || result.type !== 'assigned')
        continue;
      if (this.#leases.get(svc.uid) === undefined) await put(leaseFor(svc, sharingOf(svc), result), 'allocations');
    }
    for (const svc of this.#services.values()) {
      if (svc.ingress.length === 0 || svc.deleting || this.#leases.get(svc.uid) !== undefined) continue;
      const pool = poolHolding(this.world(), svc.ingress);
      const decision = { pool: pool?.key ?? '', mode: pool?.mode ?? ('bgp' as const), addresses: svc.ingress };
      await put(leaseFor(svc, sharingOf(svc), decision), 'status');
    }
    await this.store.markIntact(history);
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
