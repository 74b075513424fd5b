import type { ServiceSnapshot } from '@berth/contracts';
import { allocate, type Decision, type World } from './allocate/allocate.js';
import { leaseFor, type Lease } from './allocate/lease.js';
import { readRequest } from './allocate/request.js';
import type { LeaseStore } from './redis/lease-store.js';

const MAX_RACES = 20;

/** Another replica claimed first this many times in a row: try again later, knowing their leases. */
export class RacesLostError extends Error {
  override readonly name = 'RacesLostError';
  readonly code = 'BERTH_IPAM_RACES_LOST';
  constructor() {
    super(`lost ${MAX_RACES} races for an address in a row`);
  }
}

/** Redis has lost its leases (FLUSHALL, an empty new primary): nothing is leased until they are restored. */
export class LeasesLostError extends Error {
  override readonly name = 'LeasesLostError';
  readonly code = 'BERTH_IPAM_LEASES_LOST';
  constructor() {
    super('Redis has lost its leases; leasing waits until they are restored');
  }
}

/** The Service's sharing key as its request names it (none when the request is malformed). */
export const sharingOf = (svc: ServiceSnapshot): { sharingKey?: string } => {
  const read = readRequest(svc);
  return read.ok ? read.request : {};
};

export interface Leased {
  /** The decision once the lease is held (or refused). */
  readonly decision: Decision;
  /** The lease this call claimed in Redis; undefined when it was held already or lost to another replica. */
  readonly claimed: Lease | undefined;
  /** Addresses another replica claimed first, each followed by a fresh decision. */
  readonly lostRaces: number;
}

/**
 * Decides for `svc` and makes the decision real with one atomic claim in Redis; when another
 * replica claimed an address first, learns its lease and decides again. The addresses are
 * reserved in `world().leases` while the claim is in flight, so that decisions running at the same
 * time do not all pick them and lose the race to each other.
 */
export async function leaseService(svc: ServiceSnapshot, world: () => World, store: LeaseStore): Promise<Leased> {
  const { leases } = world();
  let decision = allocate(svc, world());
  let claimed: Lease | undefined;
  let lostRaces = 0;
  while (decision.type === 'assigned' && leases.get(svc.uid) === undefined) {
    if (lostRaces === MAX_RACES) throw new RacesLostError();
    const lease = leaseFor(svc, sharingOf(svc), decision);
    leases.set(lease);
    let result: Awaited<ReturnType<LeaseStore['claim']>>;
    try {
      result = await store.claim(lease);
    } catch (error) {
      leases.delete(svc.uid);
      throw error;
    }
    if (result.type === 'lost') {
      leases.delete(svc.uid);
      throw new LeasesLostError();
    }
    if (result.type === 'taken') {
      lostRaces++;
      leases.delete(svc.uid);
      const winner = await store.get(result.holder);
      if (winner !== undefined) leases.set(winner);
    } else {
      leases.set(result.type === 'existing' ? result.lease : lease);
      if (result.type === 'claimed') claimed = lease;
    }
    decision = allocate(svc, world());
  }
  return { decision, claimed, lostRaces };
}
