import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { leaseSchema, type Lease } from '../allocate/lease.js';

/** One Lua script, sent by SHA once Redis knows it (EVALSHA, falling back to EVAL). */
class Script {
  readonly sha: string;
  constructor(readonly text: string) {
    this.sha = createHash('sha1').update(text).digest('hex');
  }
  async run(redis: Redis, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.text, keys.length, ...keys, ...args);
    }
  }
}

// The replication ID of the primary a script runs on. A replica promoted by a failover starts a new
// one, and so does a restarted primary: either may lack writes the primary before it acknowledged.
const HISTORY = `local function history()
  return string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
end
`;

// KEYS[1]: the intact marker; KEYS[2]: the lease; KEYS[3..]: one hash per address, uid → how that
// Service shares (JSON: k sharing key, p its protocol/port pairs, c whether its traffic policy is
// Cluster, s its pod selector). ARGV: uid, this Service's sharing JSON, lease JSON, and 'restore'
// when putting back a lease Redis lost. The marker names the replication history the leases were
// last known whole in; without it, or under another history, Redis may have lost leases (FLUSHALL,
// a new empty primary, a replica promoted before it had every lease): nothing new is leased until
// they are restored. An address is shared only under one key, with no pair used twice, and with
// all Cluster or one selector: the same rule as allocate(), checked here too so two replicas
// racing cannot both break it.
const CLAIM = new Script(`${HISTORY}
if ARGV[4] ~= 'restore' and redis.call('GET', KEYS[1]) ~= history() then return {'lost'} end
local existing = redis.call('GET', KEYS[2])
if existing then return {'existing', existing} end
local mine = cjson.decode(ARGV[2])
for i = 3, #KEYS do
  local holders = redis.call('HGETALL', KEYS[i])
  for j = 1, #holders, 2 do
    local other = cjson.decode(holders[j + 1])
    local ok = mine.k ~= '' and other.k == mine.k and ((mine.c and other.c) or mine.s == other.s)
    if ok then
      for _, a in ipairs(mine.p) do
        for _, b in ipairs(other.p) do
          if a == b then ok = false end
        end
      end
    end
    if not ok then return {'taken', KEYS[i], holders[j]} end
  end
end
for i = 3, #KEYS do redis.call('HSET', KEYS[i], ARGV[1], ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[3])
return {'ok'}
`);

// KEYS[1]: the lease. ARGV: uid, the address key prefix. Releasing twice is a no-op.
const RELEASE = new Script(`
local existing = redis.call('GET', KEYS[1])
if not existing then return 0 end
for _, address in ipairs(cjson.decode(existing)['addresses']) do
  local key = ARGV[2] .. address
  redis.call('HDEL', key, ARGV[1])
end
redis.call('DEL', KEYS[1])
return 1
`);

// KEYS[1]: the intact marker. ARGV[1]: the history the restore began in. Marks the leases whole in
// that history, unless the primary changed meanwhile (the restore may have written to another).
const MARK_INTACT = new Script(`${HISTORY}
if history() ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`);

// KEYS[1]: the intact marker.
const INTACT = new Script(`${HISTORY}
return redis.call('GET', KEYS[1]) == history() and 1 or 0
`);

/** How a lease may share its addresses, as the claim script reads it. */
function sharing(lease: Lease): string {
  return JSON.stringify({
    k: lease.sharingKey ?? '',
    p: lease.ports.map((p) => `${p.protocol}/${p.port}`),
    c: lease.externalTrafficPolicy === 'Cluster',
    s: JSON.stringify(lease.selector ?? {}),
  });
}

/** A lease in Redis that breaks its schema: nothing is leased over it until it is fixed or deleted. */
export class LeaseUnreadableError extends Error {
  override readonly name = 'LeaseUnreadableError';
  readonly code = 'BERTH_IPAM_LEASE_UNREADABLE';
}

/** Redis's primary changed while the leases were being restored: restore them again. */
export class PrimaryChangedError extends Error {
  override readonly name = 'PrimaryChangedError';
  readonly code = 'BERTH_IPAM_PRIMARY_CHANGED';
  constructor() {
    super("Redis's primary changed while the leases were being restored; restoring again");
  }
}

/** A lease Redis took but too few replicas confirmed: it is not published until they do. */
export class LeaseUnconfirmedError extends Error {
  override readonly name = 'LeaseUnconfirmedError';
  readonly code = 'BERTH_IPAM_LEASE_UNCONFIRMED';
}

export interface LeaseStoreOptions {
  /**
   * Replicas that must have a lease (Redis WAIT) before a claim returns: 0 for a Redis without
   * replicas, 1 or more under Sentinel.
   * @default 0
   */
  readonly minReplicas: number;
  /** How long a claim waits for them. @default 1000 */
  readonly replicaTimeoutMs: number;
}

export type ClaimResult =
  | { readonly type: 'claimed' }
  /** Another replica leased this Service first: its lease stands. */
  | { readonly type: 'existing'; readonly lease: Lease }
  /** An address went to another Service meanwhile: decide again with fresh leases. */
  | { readonly type: 'taken'; readonly address: string; readonly holder: string }
  /** Redis may have lost leases (its marker is gone, or names another history): nothing is leased until they are restored. */
  | { readonly type: 'lost' };

/**
 * VIP leases in Redis, the source of truth. Keys live under one prefix that ipam alone owns:
 * `lease:<service UID>` (the lease as JSON), `addr:<address>` (who holds the address), and
 * `intact`, the replication history in which the leases are known to be whole: a Redis that lost
 * its data lost it too, and a promoted replica holds another history.
 */
export class LeaseStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'berth:ipam:v1:',
    private readonly options: LeaseStoreOptions = { minReplicas: 0, replicaTimeoutMs: 1000 },
  ) {}

  private leaseKey(uid: string): string {
    return `${this.prefix}lease:${uid}`;
  }

  private addressKey(address: string): string {
    return `${this.prefix}addr:${address}`;
  }

  private get intactKey(): string {
    return `${this.prefix}intact`;
  }

  /** Claims a lease atomically; addresses must be in canonical form (as `allocate` gives them). */
  claim(lease: Lease): Promise<ClaimResult> {
    return this.#claim(lease, 'lease');
  }

  /** Puts back a lease Redis lost (never `lost`): only while restoring, before `markIntact`. */
  restore(lease: Lease): Promise<ClaimResult> {
    return this.#claim(lease, 'restore');
  }

  /**
   * The replication history of the primary this store talks to: read it before restoring, and
   * hand it to `markIntact`, so a failover in the middle of a restore is noticed.
   */
  async history(): Promise<string> {
    const info = await this.redis.info('replication');
    const id = /^master_replid:([0-9a-f]+)/m.exec(info)?.[1];
    if (id === undefined) throw new Error(`Redis's INFO replication names no master_replid: ${info.slice(0, 200)}`);
    return id;
  }

  /**
   * Says the leases are whole again in `history`: new claims may go ahead. Throws
   * `PrimaryChangedError` when Redis's primary changed since, so the restore runs again.
   */
  async markIntact(history: string): Promise<void> {
    if ((await MARK_INTACT.run(this.redis, [this.intactKey], [history])) !== 1) throw new PrimaryChangedError();
  }

  /**
   * Whether Redis still holds its leases: false after FLUSHALL, on a new empty primary, and on a
   * promoted replica until the leases have been restored there.
   */
  async intact(): Promise<boolean> {
    return (await INTACT.run(this.redis, [this.intactKey], [])) === 1;
  }

  /**
   * Waits until `minReplicas` replicas have every write this connection made (WAIT), so that a
   * replica Sentinel promotes has the lease before anyone is told of it.
   */
  async #replicated(): Promise<void> {
    if (this.options.minReplicas === 0) return;
    const acked = Number(await this.redis.call('WAIT', this.options.minReplicas, this.options.replicaTimeoutMs));
    if (acked < this.options.minReplicas)
      throw new LeaseUnconfirmedError(
        `only ${acked} of ${this.options.minReplicas} Redis replicas confirmed the lease within ${this.options.replicaTimeoutMs} ms: check the replicas (INFO replication); the allocation is published once they have it`,
      );
  }

  async #claim(lease: Lease, mode: 'lease' | 'restore'): Promise<ClaimResult> {
    const reply = (await CLAIM.run(
      this.redis,
      [this.intactKey, this.leaseKey(lease.serviceUid), ...lease.addresses.map((a) => this.addressKey(a))],
      [lease.serviceUid, sharing(lease), JSON.stringify(lease), mode],
    )) as string[];
    if (reply[0] === 'lost') return { type: 'lost' };
    if (reply[0] === 'taken')
      return { type: 'taken', address: (reply[1] ?? '').slice(this.addressKey('').length), holder: reply[2] ?? '' };
    if (mode === 'lease') await this.#replicated();
    if (reply[0] === 'ok') return { type: 'claimed' };
    return { type: 'existing', lease: this.read(this.leaseKey(lease.serviceUid), reply[1]) };
  }

  /** A lease as Redis holds it, checked against its schema. */
  private read(key: string, json: string | undefined): Lease {
    const checked = leaseSchema.decode(json ?? '');
    if (checked.ok) return checked.value;
    throw new LeaseUnreadableError(
      `Redis key ${key} is not a lease ipam can read (${checked.problems.join('; ')}): fix it, or delete it and the Service's entries in the addr: hashes of its addresses, so it is leased again`,
    );
  }

  /** Frees a Service's addresses; releasing a lease that is gone is not an error. */
  async release(serviceUid: string): Promise<boolean> {
    return (await RELEASE.run(this.redis, [this.leaseKey(serviceUid)], [serviceUid, this.addressKey('')])) === 1;
  }

  /** One Service's lease, if it has one. */
  async get(serviceUid: string): Promise<Lease | undefined> {
    const key = this.leaseKey(serviceUid);
    const json = await this.redis.get(key);
    return json === null ? undefined : this.read(key, json);
  }

  /** Every lease, by Service UID. */
  async all(): Promise<Map<string, Lease>> {
    const leases = new Map<string, Lease>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}lease:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.redis.mget(...keys);
      keys.forEach((key, i) => {
        const json = values[i];
        if (json === null || json === undefined) return;
        const lease = this.read(key, json);
        leases.set(lease.serviceUid, lease);
      });
    } while (cursor !== '0');
    return leases;
  }
}
