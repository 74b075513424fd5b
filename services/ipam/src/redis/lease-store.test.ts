import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { ServiceSnapshot } from '@berth/contracts';
import { examplePool, exampleService } from '@berth/contracts/examples';
import { startRedis, type RigRedis } from '@berth/rig';
import { canShare } from '../allocate/allocate.js';
import { leaseService, RacesLostError } from '../lease-service.js';
import type { Lease } from '../allocate/lease.js';
import { LeaseIndex } from '../allocate/lease-index.js';
import { LeaseStore, LeaseUnconfirmedError, LeaseUnreadableError, PrimaryChangedError } from './lease-store.js';

const pool = examplePool('v6', ['2001:db8::/116']);
const service = (i: number) => exampleService(i, 'shop');
const leaseOf = (svc: ServiceSnapshot, addresses: string[], sharingKey?: string): Lease => ({
  serviceUid: svc.uid,
  service: svc.key,
  pool: 'v6',
  mode: 'bgp',
  addresses,
  ports: svc.ports,
  externalTrafficPolicy: 'Cluster',
  ...(sharingKey === undefined ? {} : { sharingKey }),
});

/** Marks the store's leases whole in the current replication history, as a finished restore does. */
const whole = async (store: LeaseStore) => store.markIntact(await store.history());

/** One ipam replica: decides from its own view of the leases and claims, as ipam's shell does (leaseService). */
async function replica(store: LeaseStore, services: readonly ServiceSnapshot[]): Promise<{ lostRaces: number }> {
  const world = { pools: [pool], namespaces: new Map(), leases: LeaseIndex.of((await store.all()).values()) };
  let lostRaces = 0;
  for (const svc of services) {
    // As ipam's worker does, a Service whose races were all lost is tried again, knowing the winners.
    for (let attempt = 0; attempt < 100; attempt++) {
      const leased = await leaseService(svc, () => world, store).catch((error: unknown) => {
        if (error instanceof RacesLostError) return undefined;
        throw error;
      });
      if (leased === undefined) {
        lostRaces++;
        continue;
      }
      lostRaces += leased.lostRaces;
      if (leased.decision.type === 'refused') throw new Error(`${svc.key}: ${leased.decision.message}`);
      break;
    }
  }
  return { lostRaces };
}

describe('lease store - against a real redis-server', () => {
  let redis: RigRedis;
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis({ host: redis.host, port: redis.port, password: redis.password, maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  before(async () => (redis = await startRedis()));
  after(async () => {
    for (const client of clients) client.disconnect();
    await redis.stop();
  });

  it('claims atomically, keeps the first lease, refuses a taken address, and releases idempotently', async () => {
    const store = new LeaseStore(connect(), 'test1:');
    await whole(store);
    const [a, b] = [service(1), service(2)];
    assert.deepEqual(await store.claim(leaseOf(a, ['2001:db8::1'])), { type: 'claimed' });
    const again = await store.claim(leaseOf(a, ['2001:db8::9']));
    if (again.type !== 'existing') assert.fail(`expected the first lease to stand, got ${again.type}`);
    assert.deepEqual(again.lease.addresses, ['2001:db8::1']);
    assert.deepEqual(await store.claim(leaseOf(b, ['2001:db8::1'])), {
      type: 'taken',
      address: '2001:db8::1',
      holder: 'uid-1',
    });
    assert.equal(await store.release('uid-1'), true);
    assert.equal(await store.release('uid-1'), false);
    assert.deepEqual(await store.claim(leaseOf(b, ['2001:db8::1'])), { type: 'claimed' });
    assert.deepEqual([...(await store.all()).keys()], ['uid-2']);
  });

  it('after FLUSHALL claims nothing (lost) until the leases are restored and the store marked intact', async () => {
    const client = connect();
    const store = new LeaseStore(client, 'flushed:');
    await whole(store);
    const [a, b] = [service(1), service(2)];
    assert.deepEqual(await store.claim(leaseOf(a, ['2001:db8::1'])), { type: 'claimed' });
    await client.flushall();
    assert.equal(await store.intact(), false);
    assert.deepEqual(await store.claim(leaseOf(b, ['2001:db8::1'])), { type: 'lost' }, 'the address is not free');
    assert.deepEqual(await store.restore(leaseOf(a, ['2001:db8::1'])), { type: 'claimed' });
    assert.equal(await store.intact(), false, 'restoring alone does not mark it');
    await whole(store);
    assert.deepEqual(await store.claim(leaseOf(b, ['2001:db8::1'])), {
      type: 'taken',
      address: '2001:db8::1',
      holder: 'uid-1',
    });
  });

  it('refuses a lease in Redis that breaks its schema, naming the key and what is wrong', async () => {
    const client = connect();
    const store = new LeaseStore(client, 'corrupt:');
    await whole(store);
    assert.deepEqual(await store.claim(leaseOf(service(1), ['2001:db8::1'])), { type: 'claimed' });
    await client.set(
      'corrupt:lease:uid-2',
      JSON.stringify({ ...leaseOf(service(2), ['2001:db8::2']), mode: 'anycast' }),
    );
    await assert.rejects(store.all(), (error: unknown) => {
      assert.ok(error instanceof LeaseUnreadableError);
      assert.match(error.message, /corrupt:lease:uid-2 is not a lease ipam can read \(\/mode: /);
      return true;
    });
    await assert.rejects(store.get('uid-2'), LeaseUnreadableError);
    assert.equal((await store.get('uid-1'))?.addresses[0], '2001:db8::1', 'the others still read');
  });

  it('lets Services share an address only under one sharing key, on different ports', async () => {
    const store = new LeaseStore(connect(), 'test2:');
    await whole(store);
    const on = (i: number, port: number, key?: string) => {
      const svc = { ...service(i), ports: [{ protocol: 'UDP' as const, port }] };
      return leaseOf(svc, ['2001:db8::5'], key);
    };
    assert.equal((await store.claim(on(1, 53, 'dns'))).type, 'claimed');
    assert.equal((await store.claim(on(2, 5353, 'dns'))).type, 'claimed');
    assert.equal((await store.claim(on(3, 53, 'dns'))).type, 'taken', 'the same port twice');
    assert.equal((await store.claim(on(4, 54, 'web'))).type, 'taken', 'another key');
    assert.equal((await store.claim(on(5, 55))).type, 'taken', 'no key');
  });

  it('the claim script shares an address exactly when allocate’s rule (canShare) does, case for case', async (t) => {
    const store = new LeaseStore(connect(), 'sharing:');
    await whole(store);
    const PORTS = [80, 443, 8080, 53].flatMap((port) => [
      { protocol: 'TCP' as const, port },
      { protocol: 'UDP' as const, port },
    ]);
    // Mostly one key, Cluster and few ports each, so that sharing comes up often enough to be tested.
    const terms = fc.record({
      sharingKey: fc.option(fc.constantFrom('k1', 'k1', 'k1', 'k2'), { nil: undefined, freq: 6 }),
      ports: fc.subarray(PORTS, { maxLength: 2 }),
      externalTrafficPolicy: fc.constantFrom('Cluster' as const, 'Cluster' as const, 'Local' as const),
      selector: fc.option(fc.constantFrom({ app: 'a' }, { app: 'b' }, { app: 'a', tier: 'web' }), { nil: undefined }),
    });
    let uid = 0;
    const lease = (t: {
      sharingKey: string | undefined;
      ports: Lease['ports'];
      externalTrafficPolicy: Lease['externalTrafficPolicy'];
      selector: Lease['selector'] | undefined;
    }): Lease => ({
      serviceUid: `uid-${++uid}`,
      service: `shop/svc-${uid}`,
      pool: 'v6',
      mode: 'bgp',
      addresses: [`2001:db8::${(uid >> 4).toString(16)}`],
      ports: t.ports,
      externalTrafficPolicy: t.externalTrafficPolicy,
      ...(t.sharingKey === undefined ? {} : { sharingKey: t.sharingKey }),
      ...(t.selector === undefined ? {} : { selector: t.selector }),
    });
    const verdicts = { shared: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(terms, { minLength: 1, maxLength: 3 }), terms, async (others, mine) => {
        // Each case gets its own address: 16 uids per case, the address is the uid's upper bits.
        uid = (Math.floor(uid / 16) + 1) * 16;
        const held: Lease[] = [];
        for (const other of others) {
          const candidate = lease(other);
          if ((await store.claim(candidate)).type === 'claimed') held.push(candidate);
        }
        const mineLease = lease(mine);
        const expected = canShare(mineLease, held);
        const claimed = (await store.claim(mineLease)).type === 'claimed';
        assert.equal(
          claimed,
          expected,
          `Redis ${claimed ? 'shared' : 'refused'}, allocate would have ${expected ? 'shared' : 'refused'}: ${JSON.stringify({ held, mine: mineLease })}`,
        );
        verdicts[expected ? 'shared' : 'refused']++;
      }),
      { numRuns: 600 },
    );
    t.diagnostic(`verdicts: ${JSON.stringify(verdicts)}`);
    assert.ok(verdicts.shared > 80 && verdicts.refused > 200, JSON.stringify(verdicts));
  });

  it('three replicas racing over 2,000 Services end with 2,000 distinct addresses, checked in Redis', async () => {
    const services = Array.from({ length: 2000 }, (_, i) => service(i));
    const orders = fc.sample(fc.shuffledSubarray(services, { minLength: services.length }), { numRuns: 3, seed: 7 });
    await whole(new LeaseStore(connect(), 'race:'));
    const results = await Promise.all(orders.map((order) => replica(new LeaseStore(connect(), 'race:'), order)));
    assert.ok(
      results.some((r) => r.lostRaces > 0),
      'the replicas really raced',
    );

    const check = connect();
    const leases = [...(await new LeaseStore(check, 'race:').all()).values()];
    assert.equal(leases.length, 2000);
    const addresses = leases.flatMap((l) => l.addresses);
    assert.equal(new Set(addresses).size, 2000, 'no address leased twice');
    for (const address of addresses.slice(0, 50)) assert.equal(await check.hlen(`race:addr:${address}`), 1);
  });
});

describe('lease store - a primary, its replica, and a failover', () => {
  let primary: RigRedis;
  let replica: RigRedis;
  const clients: Redis[] = [];
  const connect = (node: RigRedis) => {
    const client = new Redis({ host: node.host, port: node.port, password: node.password, maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  before(async () => {
    primary = await startRedis();
    replica = await startRedis({ password: primary.password, replicaOf: primary.port });
    const info = connect(replica);
    for (let i = 0; i < 200 && !/master_link_status:up/.test(await info.info('replication')); i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all([primary.stop(), replica.stop()]);
  });

  it('a claim returns once the replicas have it (WAIT), and says so when too few do', async () => {
    const store = new LeaseStore(connect(primary), 'wait:', { minReplicas: 1, replicaTimeoutMs: 1000 });
    await whole(store);
    assert.deepEqual(await store.claim(leaseOf(service(1), ['2001:db8::1'])), { type: 'claimed' });
    assert.equal((await new LeaseStore(connect(replica), 'wait:').get('uid-1'))?.addresses[0], '2001:db8::1');

    const tooMany = new LeaseStore(connect(primary), 'wait:', { minReplicas: 2, replicaTimeoutMs: 100 });
    await assert.rejects(tooMany.claim(leaseOf(service(2), ['2001:db8::2'])), (error: unknown) => {
      assert.ok(error instanceof LeaseUnconfirmedError);
      assert.match(error.message, /only 1 of 2 Redis replicas confirmed the lease within 100 ms/);
      return true;
    });
  });

  it('a promoted replica that missed a lease claims nothing until the leases are restored there', async () => {
    const primaryClient = connect(primary);
    const onPrimary = new LeaseStore(primaryClient, 'failover:');
    await whole(onPrimary);
    const replicated = new LeaseStore(primaryClient, 'failover:', { minReplicas: 1, replicaTimeoutMs: 1000 });
    assert.deepEqual(await replicated.claim(leaseOf(service(1), ['2001:db8::1'])), { type: 'claimed' });
    const replicaClient = connect(replica);

    // The replica is promoted (as Sentinel does) before it hears of the next lease, which the old
    // primary acknowledges all the same.
    const before = await onPrimary.history();
    await replicaClient.call('REPLICAOF', 'NO', 'ONE');
    assert.deepEqual(await onPrimary.claim(leaseOf(service(2), ['2001:db8::2'])), { type: 'claimed' });

    const onPromoted = new LeaseStore(replicaClient, 'failover:');
    assert.notEqual(await onPromoted.history(), before, 'a promoted replica begins its own history');
    assert.equal((await onPromoted.get('uid-1'))?.addresses[0], '2001:db8::1', 'it has what was replicated');
    assert.equal(await onPromoted.get('uid-2'), undefined, 'and not the last lease');
    assert.equal(await onPromoted.intact(), false);
    assert.deepEqual(
      await onPromoted.claim(leaseOf(service(3), ['2001:db8::2'])),
      { type: 'lost' },
      'the missed lease’s address is not handed out',
    );

    // A restore that began before another failover does not mark the leases whole.
    await assert.rejects(onPromoted.markIntact(before), PrimaryChangedError);
    const history = await onPromoted.history();
    assert.deepEqual(await onPromoted.restore(leaseOf(service(2), ['2001:db8::2'])), { type: 'claimed' });
    await onPromoted.markIntact(history);
    assert.equal(await onPromoted.intact(), true);
    assert.deepEqual(await onPromoted.claim(leaseOf(service(3), ['2001:db8::2'])), {
      type: 'taken',
      address: '2001:db8::2',
      holder: 'uid-2',
    });
  });
});
