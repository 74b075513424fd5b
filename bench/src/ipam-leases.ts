// ipam's lease rate with 1, 2 and 3 replicas (2,000 Services put on the bus at once), next to
// the same atomic Redis claims issued bare from one client; then, with the watcher and a real
// kube-apiserver, the time from a Service's creation to its EXTERNAL-IP over 1,000 Services.
import { join, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { examplePool, exampleService as service } from '@berth/contracts/examples';
import { Buckets, connectBus } from '@berth/bus';
import { LeaseStore } from '@berth/ipam/lease-store';
import { startBerthProcess, startNats, startRedis } from '@berth/rig';
import { createLogger } from '@berth/runtime';
import { startTestCluster, WATCHER_MAIN } from '@berth/watcher/test-cluster';
import { inParallel, kubeHttp } from './kube-http.js';
import { percentile, report, type Row } from './report.js';

const IPAM_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'services', 'ipam', 'dist', 'main.js');
const LEASES = Number(process.env['BENCH_LEASES'] ?? 2000);
const CREATED = Number(process.env['BENCH_CREATED'] ?? 1000);

/** Leases per second with `replicas` ipam processes, from the first put to the last allocation. */
async function leaseRate(replicas: number): Promise<number> {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const bus = await connectBus(nats.as('rig').config, {
    name: 'bench',
    identity: 'watcher',
    logger: createLogger('bench', 'silent'),
  });
  // Playing the watcher, which makes the buckets.
  await bus.ensureTopology();
  const abort = new AbortController();
  const procs = Array.from({ length: replicas }, () =>
    startBerthProcess(IPAM_MAIN, { ...nats.as('ipam').env, ...redis.env }),
  );
  try {
    await (await bus.bucket(Buckets.pools)).put(examplePool('v6', ['2001:db8::/112']));
    await Promise.all(procs.map((p) => p.logged('leasing', 30_000)));
    let assigned = 0;
    const allocations = await bus.bucket(Buckets.allocations);
    void (async () => {
      for await (const change of allocations.watch(abort.signal))
        if (change.type === 'put' && change.value.result.type === 'assigned') assigned++;
    })();
    const services = await bus.bucket(Buckets.services);
    const started = performance.now();
    await Promise.all(Array.from({ length: LEASES }, (_, i) => services.put(service(i))));
    while (assigned < LEASES) await sleep(5);
    return LEASES / ((performance.now() - started) / 1000);
  } finally {
    abort.abort();
    for (const p of procs) p.child.kill('SIGKILL');
    await bus.close();
    await Promise.all([nats.stop(), redis.stop()]);
  }
}

/** The same claims, bare: one client, `concurrency` in flight, no bus and no decisions. */
async function bareClaimRate(concurrency: number): Promise<number> {
  const redis = await startRedis();
  const client = new Redis({ host: redis.host, port: redis.port, password: redis.password });
  try {
    const store = new LeaseStore(client, 'bare:');
    const started = performance.now();
    await inParallel(LEASES, concurrency, async (i) => {
      const svc = service(i);
      await store.claim({
        serviceUid: svc.uid,
        service: svc.key,
        pool: 'v6',
        mode: 'bgp',
        addresses: [`2001:db8::${(i + 1).toString(16)}`],
        ports: svc.ports,
        externalTrafficPolicy: 'Cluster',
      });
    });
    return LEASES / ((performance.now() - started) / 1000);
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

/** Service created → EXTERNAL-IP set, one Service at a time, through the whole stack. */
async function createToExternalIp(): Promise<number[]> {
  const [cluster, redis] = await Promise.all([startTestCluster(), startRedis()]);
  const http = kubeHttp(cluster.kube);
  const procs = [
    startBerthProcess(WATCHER_MAIN, {
      ...cluster.nats.as('watcher').env,
      BERTH_KUBECONFIG: cluster.watcherKubeconfig,
    }),
    startBerthProcess(IPAM_MAIN, { ...cluster.nats.as('ipam').env, ...redis.env }),
  ];
  try {
    await cluster.apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'v6' },
      spec: { mode: 'bgp', addresses: ['2001:db8::/112'] },
    });
    await procs[0]?.logged('every collection listed', 30_000);
    await procs[1]?.logged('leasing', 30_000);
    const seen = new Map<string, number>();
    const stop = http.watch('/api/v1/namespaces/shop/services', (type, object) => {
      const svc = object as { metadata: { name: string }; status?: { loadBalancer?: { ingress?: unknown[] } } };
      if ((svc.status?.loadBalancer?.ingress?.length ?? 0) > 0 && !seen.has(svc.metadata.name))
        seen.set(svc.metadata.name, performance.now());
    });
    await sleep(500);
    const latencies: number[] = [];
    for (let i = 0; i < CREATED; i++) {
      const name = `s${i}`;
      const started = performance.now();
      await http.create('/api/v1/namespaces/shop/services', {
        metadata: { name },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass: 'berth.dev/lb',
          ipFamilies: ['IPv6'],
          allocateLoadBalancerNodePorts: false,
          ports: [{ port: 80 }],
        },
      });
      while (!seen.has(name)) {
        if (performance.now() - started > 10_000) throw new Error(`${name}: no EXTERNAL-IP within 10 s`);
        await sleep(1);
      }
      latencies.push((seen.get(name) ?? 0) - started);
    }
    stop();
    return latencies.sort((a, b) => a - b);
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    http.close();
    await Promise.all([cluster.stop(), redis.stop()]);
  }
}

const rows: Row[] = [];
for (const replicas of [1, 2, 3])
  rows.push([
    `ipam leases/s, ${replicas} replica${replicas > 1 ? 's' : ''} (${LEASES} Services at once)`,
    Math.round(await leaseRate(replicas)),
    '/s',
  ]);
rows.push(['bare Lua claims/s, 1 client, 1 in flight', Math.round(await bareClaimRate(1)), '/s']);
rows.push(['bare Lua claims/s, 1 client, 32 in flight', Math.round(await bareClaimRate(32)), '/s']);
const latencies = await createToExternalIp();
rows.push([`Service created → EXTERNAL-IP p50 (n=${latencies.length})`, Math.round(percentile(latencies, 50)), 'ms']);
rows.push(['Service created → EXTERNAL-IP p99', Math.round(percentile(latencies, 99)), 'ms']);
rows.push(['Service created → EXTERNAL-IP max', Math.round(latencies.at(-1) ?? Number.NaN), 'ms']);
report('ipam-leases', rows, { node: process.version, cpus: 2, leases: LEASES, created: CREATED });
