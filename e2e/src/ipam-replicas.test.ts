import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { AllocationSnapshot } from '@berth/contracts';
import { examplePool, exampleService as service } from '@berth/contracts/examples';
import { Buckets, connectBus, type Bus } from '@berth/bus';
import { createLogger } from '@berth/runtime';
import {
  startBerthProcess,
  startNats,
  startRedis,
  startRedisSentinel,
  type BerthProcess,
  type RigNats,
} from '@berth/rig';

const IPAM_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'services', 'ipam', 'dist', 'main.js');
const SERVICES = 2000;

/**
 * For one describe block: NATS, the store `startStore` gives, the v6 pool, `count` ipam replicas
 * on them (resolved once every one is leasing), and each allocation they publish, to `seen`.
 */
function ipamReplicas<S extends { readonly env: Record<string, string>; stop(): Promise<void> }>(
  count: number,
  startStore: () => Promise<S>,
  seen: (allocation: AllocationSnapshot) => void,
): () => { readonly nats: RigNats; readonly store: S; readonly bus: Bus; readonly replicas: readonly BerthProcess[] } {
  let rig: { nats: RigNats; store: S; bus: Bus; replicas: BerthProcess[] } | undefined;
  const abort = new AbortController();
  before(async () => {
    const [nats, store] = await Promise.all([startNats(), startStore()]);
    const bus = await connectBus(nats.as('rig').config, {
      name: 'test',
      identity: 'watcher',
      logger: createLogger('test', 'silent'),
    });
    // Playing the watcher, which makes the buckets.
    await bus.ensureTopology();
    await (await bus.bucket(Buckets.pools)).put(examplePool('v6', ['2001:db8::/116']));
    const watch = await bus.bucket(Buckets.allocations);
    void (async () => {
      for await (const change of watch.watch(abort.signal)) if (change.type === 'put') seen(change.value);
    })();
    const replicas = Array.from({ length: count }, () =>
      startBerthProcess(IPAM_MAIN, { ...nats.as('ipam').env, ...store.env }),
    );
    rig = { nats, store, bus, replicas };
    await Promise.all(replicas.map((r) => r.logged('leasing')));
  });
  after(async () => {
    abort.abort();
    if (rig === undefined) return;
    for (const r of rig.replicas) r.child.kill('SIGKILL');
    await rig.bus.close();
    await Promise.all([rig.nats.stop(), rig.store.stop()]);
  });
  return () => {
    if (rig === undefined) throw new Error('the ipam replicas did not start');
    return rig;
  };
}

describe('ipam - three replicas against real NATS and Redis', () => {
  const allocations = new Map<string, AllocationSnapshot>();
  const rig = ipamReplicas(3, startRedis, (a) => allocations.set(a.key, a));

  it('2,000 Services arriving at once end with 2,000 distinct addresses, on the bus and in Redis', async () => {
    const { bus, store: redis, replicas } = rig();
    const services = await bus.bucket(Buckets.services);
    await Promise.all(Array.from({ length: SERVICES }, (_, i) => services.put(service(i))));
    const deadline = Date.now() + 120_000;
    while ([...allocations.values()].filter((a) => a.result.type === 'assigned').length < SERVICES) {
      if (Date.now() > deadline) assert.fail(`only ${allocations.size} allocations after 2 minutes`);
      await sleep(100);
    }
    const onBus = [...allocations.values()].flatMap((a) => (a.result.type === 'assigned' ? a.result.addresses : []));
    assert.equal(new Set(onBus).size, SERVICES, 'distinct on the bus');
    const client = new Redis({ host: redis.host, port: redis.port, password: redis.password });
    const leaseKeys = await client.keys('berth:ipam:v1:lease:*');
    const addressKeys = await client.keys('berth:ipam:v1:addr:*');
    client.disconnect();
    assert.equal(leaseKeys.length, SERVICES);
    assert.equal(addressKeys.length, SERVICES, 'distinct in Redis');
    const granted = await Promise.all(
      replicas.map(async (r) => {
        const { port } = (await r.logged('health server listening')) as { port: number };
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return Number(/^berth_ipam_leases_granted_total\{pool="v6"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
      }),
    );
    assert.equal(
      granted.reduce((a, b) => a + b, 0),
      SERVICES,
      `each lease granted once across replicas (${granted.join(' + ')})`,
    );
    const { port } = (await replicas[0]?.logged('health server listening')) as { port: number };
    // A replica learns the leases others won as it works through its own queue, so its usage
    // gauges reach the totals a moment after the bus does.
    const usage = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const gauge = (name: string) =>
        Number(new RegExp(`^${name}\\{pool="v6",family="IPv6"[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
      return [
        gauge('berth_ipam_pool_addresses'),
        gauge('berth_ipam_pool_addresses_in_use'),
        gauge('berth_ipam_pool_addresses_free'),
      ];
    };
    let seen = await usage();
    for (let i = 0; i < 100 && seen[1] !== SERVICES; i++) {
      await sleep(100);
      seen = await usage();
    }
    assert.deepEqual(seen, [4096, SERVICES, 4096 - SERVICES]);
  });

  it('while Redis is down: unready, leases nothing, and catches up when it is back', async () => {
    const { bus, store: redis, replicas } = rig();
    await redis.process.stop();
    const { port } = (await replicas[0]?.logged('health server listening')) as { port: number };
    const deadline = Date.now() + 10_000;
    let ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    while (ready.status === 200 && Date.now() < deadline) {
      await sleep(50);
      ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    }
    assert.match(await ready.text(), /redis: /);
    await (await bus.bucket(Buckets.services)).put(service(SERVICES));
    await sleep(1500);
    assert.equal(allocations.has(`load/s${SERVICES}`), false, 'nothing leased without Redis');
    await redis.restart();
    const until = Date.now() + 20_000;
    while (allocations.get(`load/s${SERVICES}`)?.result.type !== 'assigned') {
      if (Date.now() > until) assert.fail('no lease after Redis came back');
      await sleep(100);
    }
    const address = allocations.get(`load/s${SERVICES}`);
    const others = new Set(
      [...allocations.entries()]
        .filter(([k]) => k !== `load/s${SERVICES}`)
        .flatMap(([, a]) => (a.result.type === 'assigned' ? a.result.addresses : [])),
    );
    assert.ok(
      address?.result.type === 'assigned' && !others.has(address.result.addresses[0] ?? ''),
      'a fresh address, not one of the 2,000',
    );
  });
});

describe('ipam - two replicas on Redis with Sentinel, its primary killed while leasing', () => {
  /** Every address each Service was ever given, in order: more than one means it changed. */
  const given = new Map<string, string[]>();
  const rig = ipamReplicas(2, startRedisSentinel, (allocation) => {
    if (allocation.result.type !== 'assigned') return;
    const [address = ''] = allocation.result.addresses;
    const seen = given.get(allocation.key) ?? [];
    if (seen.at(-1) !== address) given.set(allocation.key, [...seen, address]);
  });

  it('no address is given twice or changes, and the new primary holds every lease', async (t) => {
    const COUNT = 600;
    const { bus, store: sentinel, replicas } = rig();
    const services = await bus.bucket(Buckets.services);
    // Services keep arriving, 10 every 25 ms, before, during and after the failover.
    const arriving = (async () => {
      for (let i = 0; i < COUNT; i += 10)
        await Promise.all(Array.from({ length: 10 }, (_, j) => services.put(service(i + j)))).then(() => sleep(25));
    })();
    while (given.size < 150) await sleep(10);
    const started = Date.now();
    const { from, to } = await sentinel.failover();
    const promotedAfterMs = Date.now() - started;
    await arriving;
    const deadline = Date.now() + 60_000;
    while (given.size < COUNT) {
      if (Date.now() > deadline) assert.fail(`only ${given.size} of ${COUNT} Services got an address`);
      await sleep(100);
    }
    t.diagnostic(`primary ${from} killed; ${to} named after ${promotedAfterMs} ms; ${COUNT} Services leased`);

    const changed = [...given].filter(([, addresses]) => addresses.length > 1);
    assert.deepEqual(changed, [], 'Services whose address changed');
    const addresses = [...given.values()].map((a) => a[0]);
    assert.equal(new Set(addresses).size, COUNT, 'no address given twice');
    const primary = new Redis({ host: '127.0.0.1', port: to, password: sentinel.password });
    const leaseKeys = await primary.keys('berth:ipam:v1:lease:*');
    const addressKeys = await primary.keys('berth:ipam:v1:addr:*');
    primary.disconnect();
    assert.equal(leaseKeys.length, COUNT, 'every lease on the new primary');
    assert.equal(addressKeys.length, COUNT, 'every address on the new primary');
    assert.ok(
      replicas.some((r) => r.lines.some((l) => l.msg === 'reconnected to Redis: restoring leases')),
      'a replica restored the leases on the new primary',
    );
  });
});
