/**
 * route-publisher at scale, with BIRD 2 as the upstream router in a network namespace and a
 * central gobgpd (ADD-PATH) in another: how long until the router's kernel holds 10,000 VIPs with
 * three next hops each, and how long an endpoint change on the bus takes to change a kernel route.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBus } from '@berth/bus';
import { createLogger } from '@berth/runtime';
import { routerBirdConfig, startBerthProcess, startGobgp, startLab, startNats } from '@berth/rig';
import { BgpWorld, ROUTE_PUBLISHER_MAIN } from '@berth/route-publisher/test-world';
import { inParallel } from './kube-http.js';
import { percentile, report } from './report.js';

const VIPS = Number(process.env['BENCH_VIPS'] ?? 10_000);
const CHANGES = Number(process.env['BENCH_CHANGES'] ?? 200);
const NODES = ['n1', 'n2', 'n3'];

const lab = await startLab([...NODES, 'spk']);
const nats = await startNats();
const gobgp = await startGobgp({ netns: lab.hosts.find((h) => h.name === 'spk')?.netns ?? '' });
const bus = await connectBus(nats.as('rig').config, {
  name: 'bench',
  identity: 'watcher',
  logger: createLogger('bench', 'silent'),
});
// Playing the watcher, which makes the buckets.
await bus.ensureTopology();
try {
  await lab.startBird(
    routerBirdConfig(`protocol bgp spk4 { local 192.0.2.254 as 65000; neighbor 192.0.2.14 as 64512; ipv4 { import all; export none; add paths rx; }; }
protocol bgp spk6 { local 2001:db8::254 as 65000; neighbor 2001:db8::14 as 64512; ipv6 { import all; export none; add paths rx; }; }`),
  );
  // The kernel's IPv6 route cache limit is far below 10,000 routes on some kernels.
  await lab.exec(lab.router.netns, 'sysctl', '-qw', 'net.ipv6.route.max_size=1000000');
  const world = await BgpWorld.open(bus);
  await world.bgpConfig({ topology: 'central', routerId: '192.0.2.14' });
  await world.pool(['2001:db8:100::/112', '203.0.113.0/24']);
  await world.peer('tor4', '192.0.2.254');
  await world.peer('tor6', '2001:db8::254');
  for (const [i, node] of NODES.entries()) await world.node(node, [`192.0.2.${11 + i}`, `2001:db8::${11 + i}`]);
  // Node-agents as the bench plays them: route-publisher judges health by heartbeats that keep coming.
  setInterval(() => {
    for (const node of NODES) world.heartbeat(node).catch(() => undefined);
  }, 200).unref();

  // 10,000 IPv6 VIPs (the IPv4 documentation ranges hold only 768 addresses).
  const writeStart = performance.now();
  await inParallel(VIPS, 64, async (i) => {
    await world.service(`s${i}`, [`2001:db8:100::${(i + 1).toString(16)}`], { ipFamilies: ['IPv6'] });
  });
  const writeSeconds = (performance.now() - writeStart) / 1000;

  const started = performance.now();
  const publisher = startBerthProcess(ROUTE_PUBLISHER_MAIN, {
    ...nats.as('route-publisher').env,
    BERTH_GOBGP_TARGET: gobgp.target,
    BERTH_SPEAKER_NAME: 'bench',
    BERTH_NODE_HEALTH_TIMEOUT_MS: '600000',
  });
  const ecmpRoutes = async () => {
    const out = await lab.exec(lab.router.netns, 'ip', '-6', '-j', 'route', 'show', 'proto', 'bird');
    const routes = JSON.parse(out === '' ? '[]' : out) as { nexthops?: unknown[] }[];
    return routes.filter((r) => r.nexthops?.length === 3).length;
  };
  let held = 0;
  for (let polls = 0; held < VIPS && polls < 1200; polls++) {
    await sleep(500);
    held = await ecmpRoutes();
  }
  const allSeconds = (performance.now() - started) / 1000;
  if (held < VIPS) throw new Error(`the router holds only ${held} of ${VIPS} ECMP routes after 10 minutes`);

  // Endpoint changes: a Local Service toggles between endpoints on three nodes and on two.
  await world.service('local', ['203.0.113.1'], { externalTrafficPolicy: 'Local' });
  await world.readyEndpoints('local', { n1: 1, n2: 1, n3: 1 });
  const monitor = spawn('ip', ['-n', lab.router.netns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let seen: (() => void) | undefined;
  createInterface({ input: monitor.stdout }).on('line', (line) => {
    if (line.includes('203.0.113.1 ')) seen?.();
  });
  const waitRoute = async (hops: number) => {
    for (let i = 0; i < 200; i++) {
      const got = await lab.routerNextHops('203.0.113.1/32');
      if (got.length === hops) return;
      await sleep(25);
    }
    throw new Error(`203.0.113.1 never reached ${hops} next hops`);
  };
  await waitRoute(3);
  const latencies: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const three = i % 2 === 1;
    const changed = new Promise<void>((resolve) => (seen = resolve));
    const t0 = performance.now();
    await world.readyEndpoints('local', three ? { n1: 1, n2: 1, n3: 1 } : { n1: 1, n2: 1 });
    await Promise.race([changed, sleep(10_000)]);
    latencies.push(performance.now() - t0);
    seen = undefined;
    await waitRoute(three ? 3 : 2);
  }
  monitor.kill();
  latencies.sort((a, b) => a - b);
  const metrics = await (
    await fetch(`http://127.0.0.1:${String((await publisher.logged('health server listening'))['port'])}/metrics`)
  ).text();
  const rss = /^berth_route_publisher_process_resident_memory_bytes\S* (\S+)/m.exec(metrics)?.[1];
  await publisher.stop();

  report(
    'route-publisher-routes',
    [
      ['VIPs (IPv6), next hops each', `${VIPS} × 3`, ''],
      ['writing Services + allocations to the bus (context)', writeSeconds.toFixed(1), 's'],
      ['route-publisher start → router kernel holds every ECMP route', allSeconds.toFixed(1), 's'],
      ['endpoint change on the bus → router kernel route changes, p50', percentile(latencies, 50).toFixed(1), 'ms'],
      ['… p99', percentile(latencies, 99).toFixed(1), 'ms'],
      ['… max', (latencies.at(-1) ?? 0).toFixed(1), 'ms'],
      ['changes measured', latencies.length, ''],
      ['route-publisher RSS at the end', rss === undefined ? 'n/a' : (Number(rss) / 2 ** 20).toFixed(0), 'MiB'],
    ],
    { vips: VIPS, changes: CHANGES, topology: 'central (ADD-PATH)', router: 'BIRD 2 in a network namespace' },
  );
} finally {
  await bus.close();
  await gobgp.stop();
  await nats.stop();
  await lab.stop();
}
