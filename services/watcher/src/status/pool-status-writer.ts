import type { AllocationSnapshot } from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import type { KubeApi } from '@berth/kube';
import type { KeyedWorker } from '@berth/runtime';
import type { IPPoolObject } from '../snapshots/objects.js';
import { applyCrdStatus, crdStatusWorker } from './crd-status.js';
import { decidePoolStatus } from './pool-status.js';

/** Keeps every IPPool's status (usage per family, Valid) in step with the pools and ipam's leases. */
export class PoolStatusWriter {
  /** pool → allocation key → the addresses it leases from that pool. */
  readonly #leases = new Map<string, Map<string, readonly string[]>>();
  readonly #poolOf = new Map<string, string>();
  /** pool → allocation key → `service (addresses)`, for leases an edit left outside the pool. */
  readonly #outside = new Map<string, Map<string, string>>();
  readonly #worker: KeyedWorker;

  constructor(
    private readonly api: KubeApi,
    private readonly pools: () => ReadonlyMap<string, IPPoolObject>,
    private readonly logger: Logger,
    options: { concurrency: number; active: () => boolean },
  ) {
    this.#worker = crdStatusWorker('IPPool', logger, (name) => this.reconcile(name), options);
  }

  allocation(key: string, allocation: AllocationSnapshot | undefined): void {
    const before = this.#poolOf.get(key);
    if (before !== undefined) {
      this.#leases.get(before)?.delete(key);
      this.#outside.get(before)?.delete(key);
      this.#poolOf.delete(key);
      this.#worker.touch(before);
    }
    if (allocation?.result.type === 'assigned') {
      const { pool, addresses } = allocation.result;
      let leases = this.#leases.get(pool);
      if (leases === undefined) this.#leases.set(pool, (leases = new Map<string, readonly string[]>()));
      leases.set(key, addresses);
      if (allocation.result.outsidePool === true) {
        let outside = this.#outside.get(pool);
        if (outside === undefined) this.#outside.set(pool, (outside = new Map<string, string>()));
        outside.set(key, `${key} (${addresses.join(', ')})`);
      }
      this.#poolOf.set(key, pool);
      this.#worker.touch(pool);
    }
  }

  /** Pools were added, changed or removed: overlaps may have changed for all of them. */
  poolsChanged(): void {
    this.#worker.touchAll(this.pools().keys());
  }

  stop(): void {
    this.#worker.stop();
  }

  private async reconcile(name: string): Promise<void> {
    const pools = this.pools();
    const pool = pools.get(name);
    if (pool === undefined) return;
    const leased = [...(this.#leases.get(name)?.values() ?? [])].flat();
    const outside = [...(this.#outside.get(name)?.values() ?? [])];
    const write = decidePoolStatus(pool, [...pools.values()], leased, outside, new Date());
    if (write === undefined) return;
    await applyCrdStatus(
      this.api,
      { kind: 'IPPool', plural: 'ippools', name, uid: pool.metadata.uid },
      {
        ...(write.ipv4 === undefined ? {} : { ipv4: write.ipv4 }),
        ...(write.ipv6 === undefined ? {} : { ipv6: write.ipv6 }),
        conditions: write.conditions,
      },
    );
    this.logger.info(
      { pool: name, conditions: write.conditions.map((c) => `${c.type}=${c.status}`) },
      'IPPool status written',
    );
  }
}
