import {
  bounded,
  matchesSelector,
  type AllocationSnapshot,
  type IpFamily,
  type PoolSnapshot,
  type ServiceSnapshot,
} from '@berth/contracts';
import { formatAddress, parseAddress, parseEntry, rangeContains, type AddressRange } from '@berth/ipnet';
import { readRequest, type Address, type Request } from './request.js';
import type { LeaseIndex } from './lease-index.js';
import type { Lease } from './lease.js';

/** A Service's lease: its addresses for its whole life, keyed by the Service's UID. */
/** Everything an allocation depends on. */
export interface World {
  readonly pools: readonly PoolSnapshot[];
  /** Namespace name → labels. */
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly leases: LeaseIndex;
}

export type Decision = AllocationSnapshot['result'];
type Refusal = Extract<Decision, { type: 'refused' }>;

// Every refusal's message is bounded here, however much user input went into it.
const refuse = (reason: Refusal['reason'], message: string): Refusal => ({
  type: 'refused',
  reason,
  message: bounded(message),
});

interface Pool {
  readonly spec: PoolSnapshot;
  readonly ranges: readonly AddressRange[];
}

/** The pools in the order they are tried: by priority, then by name. */
/** The pools that hand out addresses: not refused (an overlap with an older pool), and readable. */
function pools(world: Pick<World, 'pools'>): Pool[] {
  return world.pools
    .flatMap((spec) => {
      if (spec.refusal !== undefined) return [];
      try {
        return [{ spec, ranges: spec.addresses.map(parseEntry) }];
      } catch {
        return []; // The API server refuses malformed pools; one that slips through is skipped.
      }
    })
    .sort((a, b) => a.spec.priority - b.spec.priority || a.spec.key.localeCompare(b.spec.key));
}

/** The first of `candidates` whose ranges hold every one of `addresses`. */
function holding<P extends Pool>(
  candidates: readonly P[],
  addresses: readonly { family: IpFamily; value: bigint }[],
): P | undefined {
  return candidates.find((p) => addresses.every((a) => p.ranges.some((r) => rangeContains(r, a.family, a.value))));
}

/** The pool (in the order they are tried) that holds all of `addresses`, if any. */
export function poolHolding(world: Pick<World, 'pools'>, addresses: readonly string[]): PoolSnapshot | undefined {
  return holding(pools(world), addresses.map(parseAddress))?.spec;
}

function allows(pool: PoolSnapshot, service: ServiceSnapshot, world: World): boolean {
  if (pool.namespaces.length > 0 && !pool.namespaces.includes(service.namespace)) return false;
  if (!matchesSelector(pool.namespaceSelector, world.namespaces.get(service.namespace) ?? {})) return false;
  return matchesSelector(pool.serviceSelector, service.labels);
}

/** What the sharing rule compares: a lease's terms, or those of a Service about to be leased. */
export type SharingTerms = Pick<Lease, 'sharingKey' | 'ports' | 'externalTrafficPolicy' | 'selector'>;

const sharingTerms = (service: ServiceSnapshot, request: Request): SharingTerms => ({
  ports: service.ports,
  externalTrafficPolicy: service.externalTrafficPolicy,
  ...(request.sharingKey === undefined ? {} : { sharingKey: request.sharingKey }),
  ...(service.selector === undefined ? {} : { selector: service.selector }),
});

/**
 * Services may share an address when they carry the same sharing key, use no protocol/port
 * pair twice, and either all send traffic to every node (Cluster) or select the same pods.
 * Redis's claim script (`redis/lease-store.ts`) applies the same rule; a test holds them equal.
 */
export function canShare(mine: SharingTerms, holders: readonly SharingTerms[]): boolean {
  if (mine.sharingKey === undefined) return false;
  const ports = new Set(mine.ports.map((p) => `${p.protocol}/${p.port}`));
  return holders.every(
    (lease) =>
      lease.sharingKey === mine.sharingKey &&
      lease.ports.every((p) => !ports.has(`${p.protocol}/${p.port}`)) &&
      ((lease.externalTrafficPolicy === 'Cluster' && mine.externalTrafficPolicy === 'Cluster') ||
        JSON.stringify(lease.selector ?? {}) === JSON.stringify(mine.selector ?? {})),
  );
}

function isBuggy(family: IpFamily, value: bigint): boolean {
  return family === 'IPv4' && (value % 256n === 0n || value % 256n === 255n);
}

/** The lowest free address of `family` in the pool; cost grows with the leases, not the pool. */
function nextFree(pool: Pool, family: IpFamily, leases: LeaseIndex): bigint | undefined {
  for (const range of pool.ranges) {
    if (range.family !== family) continue;
    for (let value = range.first; value <= range.last; value++) {
      if (leases.isTaken(family, value) || (pool.spec.avoidBuggyIPs && isBuggy(family, value))) continue;
      return value;
    }
  }
  return undefined;
}

const assigned = (pool: Pool, addresses: readonly Address[]): Decision => ({
  type: 'assigned',
  pool: pool.spec.key,
  mode: pool.spec.mode,
  addresses: addresses.map((a) => formatAddress(a.family, a.value)),
});

/**
 * The addresses a Service already shows in its status (given by an earlier load balancer, or by
 * Berth before its leases were lost), when one pool it may use holds them all and nobody else
 * leases them: moving over from MetalLB or OpenELB must not change anyone's EXTERNAL-IP.
 */
function keepStatusAddresses(
  service: ServiceSnapshot,
  request: Request,
  terms: SharingTerms,
  candidates: readonly Pool[],
  world: World,
): Decision | undefined {
  const shown = service.ingress
    .map((text) => ({ text, ...parseAddress(text) }))
    .filter((a) => request.families.includes(a.family));
  if (shown.length === 0) return undefined;
  const free = shown.every((a) => {
    const users = world.leases.holders(formatAddress(a.family, a.value));
    return users.length === 0 || canShare(terms, users);
  });
  const pool = holding(candidates, shown);
  return free && pool !== undefined ? assigned(pool, shown) : undefined;
}

/**
 * ipam's decision for one Service, a pure function of the world. A Service that holds a lease
 * keeps it, whatever happened to the pools since.
 */
export function allocate(service: ServiceSnapshot, world: World): Decision {
  const existing = world.leases.get(service.uid);
  if (existing !== undefined) {
    const pool = pools(world).filter((p) => p.spec.key === existing.pool);
    const inside = holding(pool, existing.addresses.map(parseAddress)) !== undefined;
    return {
      type: 'assigned',
      pool: existing.pool,
      mode: existing.mode,
      addresses: [...existing.addresses],
      ...(inside ? {} : { outsidePool: true }),
    };
  }

  const read = readRequest(service);
  if (!read.ok) return refuse(read.reason, read.message);
  const { request } = read;
  const terms = sharingTerms(service, request);
  const all = pools(world);
  let candidates: Pool[];
  if (request.pool !== undefined) {
    const named = all.find((p) => p.spec.key === request.pool);
    const refused = world.pools.find((p) => p.key === request.pool)?.refusal;
    if (refused !== undefined)
      return refuse('NoPoolAllowed', `pool ${request.pool} hands out nothing: ${refused.message}`);
    if (named === undefined) return refuse('NoPoolAllowed', `pool ${request.pool} does not exist`);
    if (!allows(named.spec, service, world))
      return refuse('NoPoolAllowed', `pool ${request.pool} does not allow this Service or its namespace`);
    candidates = [named];
  } else {
    candidates = all.filter(
      (p) => allows(p.spec, service, world) && (request.addresses.length > 0 || p.spec.autoAssign),
    );
    if (candidates.length === 0)
      return refuse('NoPoolAllowed', `no pool assigns addresses automatically to namespace ${service.namespace}`);
  }

  if (request.addresses.length > 0) {
    const pool = holding(candidates, request.addresses);
    if (pool === undefined) {
      return refuse(
        'RequestedAddressOutsidePools',
        `${request.addresses.map((a) => a.text).join(', ')} is in no pool this Service may use`,
      );
    }
    for (const address of request.addresses) {
      const users = world.leases.holders(formatAddress(address.family, address.value));
      if (users.length > 0 && !canShare(terms, users)) {
        return refuse(
          'RequestedAddressTaken',
          `${address.text} is leased to ${users.map((u) => u.service).join(', ')}`,
        );
      }
    }
    return assigned(pool, request.addresses);
  }

  const kept = keepStatusAddresses(service, request, terms, candidates, world);
  if (kept !== undefined) return kept;

  if (request.sharingKey !== undefined) {
    for (const text of world.leases.sharedUnder(request.sharingKey)) {
      const users = world.leases.holders(text);
      const { family, value } = parseAddress(text);
      const pool = candidates.find((p) => p.spec.key === users[0]?.pool);
      if (pool === undefined || !request.families.includes(family) || !canShare(terms, users)) continue;
      // Share every address of that group the Service wants, in its family order.
      const group = [...new Set(users.flatMap((u) => u.addresses))].map((t) => ({ text: t, ...parseAddress(t) }));
      const wanted = request.families.flatMap((f) => group.filter((a) => a.family === f).slice(0, 1));
      if (!request.needAll || wanted.length === request.families.length)
        return assigned(pool, wanted.length > 0 ? wanted : [{ family, value, text }]);
    }
  }

  const pick = (pool: Pool): Address[] =>
    request.families.flatMap((family) => {
      const value = nextFree(pool, family, world.leases);
      return value === undefined ? [] : [{ family, value, text: formatAddress(family, value) }];
    });
  // Prefer a pool that gives every family; PreferDualStack settles for one if none does.
  for (const pool of candidates) {
    const found = pick(pool);
    if (found.length === request.families.length) return assigned(pool, found);
  }
  if (!request.needAll) {
    for (const pool of candidates) {
      const found = pick(pool);
      if (found.length > 0) return assigned(pool, found);
    }
  }
  const offered = new Set(candidates.flatMap((p) => p.ranges.map((r) => r.family)));
  const missing = request.families.filter((f) => !offered.has(f));
  if (missing.length > 0 && (request.needAll || missing.length === request.families.length)) {
    return refuse('FamilyUnavailable', `no pool this Service may use has ${missing.join(' or ')} addresses`);
  }
  return refuse(
    'PoolExhausted',
    `no free ${request.families.join('/')} address in pools ${candidates.map((p) => p.spec.key).join(', ')}`,
  );
}
