import type { IpFamily } from '@berth/contracts';
import { formatAddress, parseAddress } from '@berth/ipnet';
import type { Lease } from './lease.js';

/**
 * The current leases, indexed as allocation needs them: by Service UID, by address (who holds
 * it), by taken value per family, and by sharing key. Kept up to date lease by lease, so one
 * decision costs nothing per existing lease.
 */
export class LeaseIndex {
  readonly #byUid = new Map<string, Lease>();
  readonly #holders = new Map<string, Lease[]>();
  readonly #taken: Record<IpFamily, Set<bigint>> = { IPv4: new Set(), IPv6: new Set() };
  readonly #bySharingKey = new Map<string, Set<string>>();

  static of(leases: Iterable<Lease>): LeaseIndex {
    const index = new LeaseIndex();
    for (const lease of leases) index.set(lease);
    return index;
  }

  get size(): number {
    return this.#byUid.size;
  }

  get(serviceUid: string): Lease | undefined {
    return this.#byUid.get(serviceUid);
  }

  values(): IterableIterator<Lease> {
    return this.#byUid.values();
  }

  /** Leases holding `address` (canonical text). */
  holders(address: string): readonly Lease[] {
    return this.#holders.get(address) ?? [];
  }

  isTaken(family: IpFamily, value: bigint): boolean {
    return this.#taken[family].has(value);
  }

  /** Addresses (canonical text) held under a sharing key. */
  sharedUnder(key: string): ReadonlySet<string> {
    return this.#bySharingKey.get(key) ?? new Set();
  }

  set(lease: Lease): void {
    this.delete(lease.serviceUid);
    this.#byUid.set(lease.serviceUid, lease);
    for (const text of lease.addresses) {
      const { family, value } = parseAddress(text);
      const address = formatAddress(family, value);
      this.#holders.set(address, [...this.holders(address), lease]);
      this.#taken[family].add(value);
      if (lease.sharingKey !== undefined) {
        let shared = this.#bySharingKey.get(lease.sharingKey);
        if (shared === undefined) this.#bySharingKey.set(lease.sharingKey, (shared = new Set()));
        shared.add(address);
      }
    }
  }

  delete(serviceUid: string): void {
    const lease = this.#byUid.get(serviceUid);
    if (lease === undefined) return;
    this.#byUid.delete(serviceUid);
    for (const text of lease.addresses) {
      const { family, value } = parseAddress(text);
      const address = formatAddress(family, value);
      const rest = this.holders(address).filter((l) => l.serviceUid !== serviceUid);
      const key = lease.sharingKey;
      if (key !== undefined && !rest.some((l) => l.sharingKey === key)) this.#bySharingKey.get(key)?.delete(address);
      if (rest.length > 0) {
        this.#holders.set(address, rest);
      } else {
        this.#holders.delete(address);
        this.#taken[family].delete(value);
      }
    }
  }
}
