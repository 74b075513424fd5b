// The watcher's cold start at scale: 10,000 Berth Services and 50,000 endpoints (10,000
// EndpointSlices of 5) in a real kube-apiserver; a watcher starts with nothing and the clock runs
// until every snapshot is on the bus. Then 200 allocations, one at a time, timed from the bus put
// to the Service's status carrying the address (seen through a watch).
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Buckets } from '@berth/bus';
import { startBerthProcess } from '@berth/rig';
import { startTestCluster, WATCHER_MAIN } from '@berth/watcher/test-cluster';
import { inParallel, kubeHttp } from './kube-http.js';
import { percentile, report } from './report.js';

const SERVICES = Number(process.env['BENCH_SERVICES'] ?? 10_000);
const ENDPOINTS_PER_SERVICE = 5;
const NAMESPACES = 10;
const NODES = 20;
const LATENCY_SAMPLES = Math.min(200, Math.floor(SERVICES / NAMESPACES));

const cluster = await startTestCluster();
const http = kubeHttp(cluster.kube);
const abort = new AbortController();
try {
  const nsOf = (i: number) => `bench-${i % NAMESPACES}`;
  for (let n = 0; n < NAMESPACES; n++) await http.create('/api/v1/namespaces', { metadata: { name: `bench-${n}` } });
  const created = Date.now();
  await inParallel(SERVICES, 32, async (i) => {
    const ns = nsOf(i);
    await http.create(`/api/v1/namespaces/${ns}/services`, {
      metadata: { name: `svc-${i}` },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: 'berth.dev/lb',
        // The rig's IPv4 Service range and the NodePort range are too small for 10,000 Services.
        ipFamilies: ['IPv6'],
        allocateLoadBalancerNodePorts: false,
        selector: { app: `svc-${i}` },
        ports: [{ port: 80 }],
      },
    });
    await http.create(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      metadata: {
        name: `svc-${i}-a`,
        labels: { 'kubernetes.io/service-name': `svc-${i}`, 'endpointslice.kubernetes.io/managed-by': 'bench' },
      },
      addressType: 'IPv6',
      endpoints: Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, e) => ({
        addresses: [`2001:db8:1:${(i + 1).toString(16)}::${e + 1}`],
        nodeName: `node-${(i + e) % NODES}`,
        conditions: { ready: true },
      })),
      ports: [{ port: 80, protocol: 'TCP' }],
    });
  });
  const createSeconds = (Date.now() - created) / 1000;
  console.log(`created ${SERVICES} Services and ${SERVICES} EndpointSlices in ${createSeconds.toFixed(1)} s`);

  // Count what reaches the bus: a Service is done when its endpoints snapshot holds all 5.
  const servicesSeen = new Map<string, string>();
  const endpointsDone = new Set<string>();
  const watchBucket = async <T extends { key: string }>(
    spec: Parameters<typeof cluster.bus.bucket<T>>[0],
    onPut: (v: T) => void,
  ) => {
    const bucket = await cluster.bus.bucket(spec);
    void (async () => {
      for await (const change of bucket.watch(abort.signal)) if (change.type === 'put') onPut(change.value);
    })();
  };
  await watchBucket(Buckets.services, (s) => servicesSeen.set(s.key, s.uid));
  await watchBucket(Buckets.endpoints, (e) => {
    if (Object.values(e.readyByNode).reduce((a, b) => a + b, 0) === ENDPOINTS_PER_SERVICE) endpointsDone.add(e.key);
  });

  const started = Date.now();
  const watcher = startBerthProcess(WATCHER_MAIN, {
    ...cluster.nats.as('watcher').env,
    BERTH_KUBECONFIG: cluster.watcherKubeconfig,
  });
  const vm = (field: string) =>
    Number(
      /(\d+) kB/.exec(
        readFileSync(`/proc/${watcher.child.pid}/status`, 'utf8')
          .split('\n')
          .find((l) => l.startsWith(field)) ?? '',
      )?.[1] ?? 0,
    );
  await watcher.logged('every collection listed', 300_000);
  const listedMs = Date.now() - started;
  while (servicesSeen.size < SERVICES || endpointsDone.size < SERVICES) {
    if (Date.now() - started > 600_000)
      throw new Error(`only ${servicesSeen.size} services / ${endpointsDone.size} endpoints after 10 min`);
    await sleep(20);
  }
  const publishedMs = Date.now() - started;
  const rssPublishedKb = vm('VmRSS:');
  // Then the watcher puts its cleanup finalizer on every Service, one PATCH each.
  const finalized = () => watcher.lines.filter((l) => l.msg === 'Service finalizers written').length;
  while (finalized() < SERVICES) {
    if (Date.now() - started > 900_000) throw new Error(`only ${finalized()} finalizers after 15 min`);
    await sleep(100);
  }
  const finalizedMs = Date.now() - started;
  const peakKb = vm('VmHWM:');
  const { port } = (await watcher.logged('health server listening')) as { port: number };
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const heapUsed = Number(/^berth_watcher_nodejs_heap_size_used_bytes\S* (\S+)$/m.exec(metrics)?.[1] ?? Number.NaN);

  // Allocation → status latency, one Service at a time.
  const allocations = await cluster.bus.bucket(Buckets.allocations);
  const seenIngress = new Map<string, number>();
  const stop = http.watch('/api/v1/namespaces/bench-0/services?allowWatchBookmarks=false', (type, object) => {
    const svc = object as { metadata: { name: string }; status?: { loadBalancer?: { ingress?: unknown[] } } };
    if (
      type === 'MODIFIED' &&
      (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0 &&
      !seenIngress.has(svc.metadata.name)
    ) {
      seenIngress.set(svc.metadata.name, Date.now());
    }
  });
  await sleep(500);
  const latencies: number[] = [];
  for (let k = 0; k < LATENCY_SAMPLES; k++) {
    const i = k * NAMESPACES;
    const key = `bench-0/svc-${i}`;
    const uid = servicesSeen.get(key) ?? '';
    const t0 = Date.now();
    await allocations.put({
      v: 1,
      key,
      revision: '1',
      serviceUid: uid,
      result: { type: 'assigned', pool: 'bench', mode: 'bgp', addresses: [`2001:db8:ff::${(i + 1).toString(16)}`] },
    });
    while (!seenIngress.has(`svc-${i}`)) {
      if (Date.now() - t0 > 10_000) throw new Error(`${key}: status not written within 10 s`);
      await sleep(1);
    }
    latencies.push((seenIngress.get(`svc-${i}`) ?? 0) - t0);
  }
  stop();
  latencies.sort((a, b) => a - b);
  await watcher.stop();

  report(
    'watcher-cold-start',
    [
      ['Services (Berth class)', SERVICES, ''],
      ['endpoints (in EndpointSlices of 5)', SERVICES * ENDPOINTS_PER_SERVICE, ''],
      ['start → every collection listed', (listedMs / 1000).toFixed(2), 's'],
      ['start → all snapshots on the bus', (publishedMs / 1000).toFixed(2), 's'],
      ['snapshots published per second', Math.round((2 * SERVICES) / (publishedMs / 1000)), '/s'],
      ['start → cleanup finalizer on every Service', (finalizedMs / 1000).toFixed(2), 's'],
      ['watcher RSS when all snapshots were on the bus', (rssPublishedKb / 1024).toFixed(0), 'MiB'],
      ['watcher peak RSS (VmHWM, through the finalizer pass)', (peakKb / 1024).toFixed(0), 'MiB'],
      ['watcher JS heap in use at the end', (heapUsed / 2 ** 20).toFixed(0), 'MiB'],
      [`allocation → status p50 (n=${LATENCY_SAMPLES})`, percentile(latencies, 50), 'ms'],
      ['allocation → status p99', percentile(latencies, 99), 'ms'],
      ['allocation → status max', latencies.at(-1) ?? Number.NaN, 'ms'],
    ],
    { node: process.version, cpus: 2, kubernetes: cluster.kube.version, createSeconds },
  );
} finally {
  abort.abort();
  http.close();
  await cluster.stop();
}
