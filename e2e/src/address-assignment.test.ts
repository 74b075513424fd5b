import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startBerthProcess, startRedis, type BerthProcess, type RigRedis } from '@berth/rig';
import { lbService, startTestCluster, WATCHER_MAIN, type TestCluster } from '@berth/watcher/test-cluster';

const IPAM_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'services', 'ipam', 'dist', 'main.js');

describe('addresses end to end - kubectl, watcher, ipam, Redis, NATS', () => {
  let cluster: TestCluster;
  let redis: RigRedis;
  const procs: BerthProcess[] = [];
  const startIpam = () => {
    const ipam = startBerthProcess(IPAM_MAIN, { ...cluster.nats.as('ipam').env, ...redis.env });
    procs.push(ipam);
    return ipam;
  };

  /** EXTERNAL-IP of a Service as kubectl prints it, once it is not pending. */
  const externalIp = async (name: string): Promise<string> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const row = (await cluster.kube.kubectl(['get', 'service', '-n', 'shop', name, '--no-headers']))
        .trim()
        .split(/\s+/);
      if (row[3] !== undefined && row[3] !== '<pending>') return row[3];
      if (Date.now() > deadline) assert.fail(`${name} still has no EXTERNAL-IP: ${row.join(' ')}`);
      await sleep(50);
    }
  };

  before(async () => {
    [cluster, redis] = await Promise.all([startTestCluster(), startRedis()]);
    procs.push(
      startBerthProcess(WATCHER_MAIN, {
        ...cluster.nats.as('watcher').env,
        BERTH_KUBECONFIG: cluster.watcherKubeconfig,
      }),
    );
    startIpam();
    await cluster.apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'public' },
      spec: { mode: 'bgp', addresses: ['203.0.113.0/30'] },
    });
    await Promise.all(procs.map((p) => p.logged('started')));
  });
  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all([cluster.stop(), redis.stop()]);
  });

  it('kubectl apply of a Service: EXTERNAL-IP appears, from the pool', async () => {
    await cluster.apply(lbService('a'));
    assert.equal(await externalIp('a'), '203.0.113.0');
    for (const name of ['b', 'c', 'd']) await cluster.apply(lbService(name));
    assert.deepEqual([await externalIp('b'), await externalIp('c'), await externalIp('d')].sort(), [
      '203.0.113.1',
      '203.0.113.2',
      '203.0.113.3',
    ]);
  });

  it('an exhausted pool: the Service says why, with a condition and a Warning Event', async () => {
    await cluster.apply(lbService('e'));
    const deadline = Date.now() + 15_000;
    let condition: { status: string; reason: string; message: string } | undefined;
    while (condition?.reason !== 'PoolExhausted' && Date.now() < deadline) {
      await sleep(100);
      const svc = JSON.parse(await cluster.kube.kubectl(['get', 'service', '-n', 'shop', 'e', '-o', 'json'])) as {
        status: { conditions?: { type: string; status: string; reason: string; message: string }[] };
      };
      condition = svc.status.conditions?.find((c) => c.type === 'berth.dev/AddressAssigned');
    }
    assert.equal(condition?.status, 'False');
    assert.match(condition.message, /no free IPv4 address in pools public/);
    const events = await cluster.kube.kubectl([
      'get',
      'events',
      '-n',
      'shop',
      '--field-selector',
      'involvedObject.name=e',
    ]);
    assert.match(events, /Warning\s+PoolExhausted/);
  });

  it('deleting a Service frees its address, which the waiting Service then gets', async () => {
    await cluster.kube.kubectl(['delete', 'service', '-n', 'shop', 'a']);
    assert.equal(await externalIp('e'), '203.0.113.0');
  });

  it('Redis emptied by a restart: leases come back, and no address is given twice', async () => {
    const before = new Map<string, string>();
    for (const name of ['b', 'c', 'd', 'e']) before.set(name, await externalIp(name));
    await redis.restart();
    // A fresh replica, with nothing in Redis, must rebuild from the Services' status.
    procs[1]?.child.kill('SIGKILL');
    const fresh = startIpam();
    await fresh.logged('leasing', 20_000);
    await cluster.apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'more' },
      spec: { mode: 'bgp', addresses: ['198.51.100.0/30'], priority: 1 },
    });
    await cluster.apply(lbService('f'));
    assert.equal(await externalIp('f'), '198.51.100.0');
    for (const [name, ip] of before) assert.equal(await externalIp(name), ip, `${name} kept its address`);
    const { Redis } = await import('ioredis');
    const client = new Redis({ host: redis.host, port: redis.port, password: redis.password });
    const leases = await client.keys('berth:ipam:v1:lease:*');
    client.disconnect();
    assert.equal(leases.length, 5, 'b, c, d, e restored and f leased');
  });

  it('Redis emptied by FLUSHALL while ipam runs: leases are back before a new Service gets anything', async () => {
    const before = new Map<string, string>();
    for (const name of ['b', 'c', 'd', 'e', 'f']) before.set(name, await externalIp(name));
    const { Redis } = await import('ioredis');
    const client = new Redis({ host: redis.host, port: redis.port, password: redis.password });
    const leaseKeys = async () => (await client.keys('berth:ipam:v1:lease:*')).length;
    try {
      await client.flushall();
      // Nothing else happens: ipam notices by itself and puts the five leases back.
      const deadline = Date.now() + 10_000;
      while ((await leaseKeys()) < 5) {
        if (Date.now() > deadline) assert.fail(`Redis holds ${await leaseKeys()} of 5 leases 10 s after FLUSHALL`);
        await sleep(100);
      }
      // public's four addresses are all held: g must not get one of them.
      await cluster.apply(lbService('g'));
      assert.equal(await externalIp('g'), '198.51.100.1');
      for (const [name, ip] of before) assert.equal(await externalIp(name), ip, `${name} kept its address`);
      assert.equal(await leaseKeys(), 6, 'b to f restored, and g leased');
      assert.equal(await client.exists('berth:ipam:v1:intact'), 1);
    } finally {
      client.disconnect();
    }
  });

  it('a pool edit never moves a Service: the lease stays, and Service and pool both say so', async () => {
    const before = new Map([
      ['c', await externalIp('c')],
      ['d', await externalIp('d')],
    ]);
    // public shrinks from 203.0.113.0/30 to /31: .2 and .3 are no longer inside it.
    await cluster.apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'public' },
      spec: { mode: 'bgp', addresses: ['203.0.113.0/31'] },
    });
    const outside = [...before].filter(([, ip]) => ip === '203.0.113.2' || ip === '203.0.113.3').map(([name]) => name);
    assert.equal(outside.length, 2);
    const deadline = Date.now() + 15_000;
    const reasonOf = async (name: string) => {
      const svc = JSON.parse(await cluster.kube.kubectl(['get', 'service', '-n', 'shop', name, '-o', 'json'])) as {
        status: { conditions?: { type: string; reason: string }[] };
      };
      return svc.status.conditions?.find((c) => c.type === 'berth.dev/AddressAssigned')?.reason;
    };
    for (const name of outside) {
      while ((await reasonOf(name)) !== 'AssignedOutsidePool') {
        if (Date.now() > deadline) assert.fail(`${name} does not say its address is outside the pool`);
        await sleep(100);
      }
      assert.equal(await externalIp(name), before.get(name), `${name} kept its address`);
    }
    let poolCondition: { status: string; message: string } | undefined;
    while (poolCondition?.status !== 'True') {
      if (Date.now() > deadline) assert.fail('the pool does not say leases are outside it');
      await sleep(100);
      const pool = JSON.parse(await cluster.kube.kubectl(['get', 'ippool', 'public', '-o', 'json'])) as {
        status?: { conditions?: { type: string; status: string; message: string }[] };
      };
      poolCondition = pool.status?.conditions?.find((c) => c.type === 'LeasesOutside');
    }
    for (const name of outside) assert.match(poolCondition.message, new RegExp(`shop/${name} \\(`));
  });

  it('moving over from another load balancer: a Service keeps the address that one gave it', async () => {
    // As MetalLB or OpenELB leave it: no loadBalancerClass, its address already in the status.
    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'moved', namespace: 'shop' },
      spec: { type: 'LoadBalancer', selector: { app: 'moved' }, ports: [{ port: 80 }] },
    });
    const status = { status: { loadBalancer: { ingress: [{ ip: '198.51.100.2' }] } } };
    await cluster.kube.kubectl([
      'patch',
      'service',
      '-n',
      'shop',
      'moved',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    // Berth becomes the cluster's default load balancer while ipam keeps running, so no restart
    // of ipam reads the status: the allocation itself must keep it (pool "more" would give .1).
    await procs[0]?.stop();
    procs.push(
      startBerthProcess(WATCHER_MAIN, {
        ...cluster.nats.as('watcher').env,
        BERTH_KUBECONFIG: cluster.watcherKubeconfig,
        BERTH_DEFAULT_CLASS: 'true',
      }),
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const svc = JSON.parse(await cluster.kube.kubectl(['get', 'service', '-n', 'shop', 'moved', '-o', 'json'])) as {
        status: { loadBalancer?: { ingress?: { ip: string }[] }; conditions?: { type: string; status: string }[] };
      };
      const assigned = svc.status.conditions?.find((c) => c.type === 'berth.dev/AddressAssigned');
      if (assigned?.status === 'True') {
        assert.deepEqual(
          svc.status.loadBalancer?.ingress?.map((i) => i.ip),
          ['198.51.100.2'],
        );
        break;
      }
      if (Date.now() > deadline) assert.fail(`Berth has not taken over shop/moved: ${JSON.stringify(svc.status)}`);
      await sleep(100);
    }
  });
});
