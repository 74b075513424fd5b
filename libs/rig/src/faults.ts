import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from './berth-traffic.js';
import { RigError } from './errors.js';
import type { Layer2Watch, Layer2Watcher } from './fault-layer2.js';
import { watchRoutes } from './fault-routes.js';
import type { RigLab } from './lab.js';
import type { BerthStack } from './stack.js';

/** The Services a fault run keeps, and what the network should deliver for them. */
export interface FaultWorkload {
  /** Service name → its addresses as first assigned, sorted. */
  readonly addresses: ReadonlyMap<string, readonly string[]>;
  /** BGP VIP → the router's expected next hops (every node), sorted. */
  readonly routes: ReadonlyMap<string, readonly string[]>;
  /** The layer-2 VIPs (asked over ARP and NDP at the router). */
  readonly layer2: readonly string[];
}

/** One fault's outcome, as numbers. */
export interface FaultResult {
  readonly fault: string;
  /** Addresses held by more than one Service. */
  readonly duplicates: readonly string[];
  /** Kept Services whose addresses are not what they were. */
  readonly changed: readonly string[];
  /** Services (kept or churned) still without an address at the end. */
  readonly unassigned: readonly string[];
  /** The longest any BGP VIP had no route at the router (ms), and how many had none at some point. */
  readonly blackholeMs: number;
  readonly blackholedVips: number;
  /** The longest any BGP VIP had wrong next hops at the router (ms). */
  readonly wrongHopsMs: number;
  /** From the fault until every route was right for good (ms). */
  readonly settledAfterMs: number;
  /** The longest any layer-2 VIP went unanswered (ms), and how often answering MACs changed in all (0 without a watcher). */
  readonly layer2GapMs: number;
  readonly layer2MacChanges: number;
  /** Layer-2 VIPs answered by more than one MAC during the run. */
  readonly layer2Split: number;
  /** A Service created just after the fault: how long until it had its addresses (ms). */
  readonly newServiceMs: number;
  /** From the fault until every Berth process said ready (ms). */
  readonly readyAfterMs: number;
  /** Services created and deleted meanwhile. */
  readonly churned: number;
}

const WORKLOAD_LABEL = 'berth.dev/fault-workload';

function serviceManifest(name: string, role: 'kept' | 'churn' | 'probe', pool?: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: 'default',
      labels: { [WORKLOAD_LABEL]: role },
      ...(pool === undefined ? {} : { annotations: { 'berth.dev/pool': pool } }),
    },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: 'berth.dev/lb',
      ipFamilyPolicy: 'PreferDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
      ports: [{ name: 'http', port: 80 }],
    },
  };
}

/** The workload's Services and their addresses, from the API server. */
async function workloadAddresses(stack: BerthStack): Promise<Map<string, string[]>> {
  const list = JSON.parse(
    await stack.kubectl(['get', 'services', '-n', 'default', '-l', WORKLOAD_LABEL, '-o', 'json']),
  ) as { items: { metadata: { name: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[] };
  return new Map(
    list.items.map((s) => [
      s.metadata.name,
      (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip])).sort(),
    ]),
  );
}

/**
 * Creates `bgp` dual-stack BGP Services and `layer2` dual-stack layer-2 ones (the stack's `lan`
 * pool), and waits for their addresses, their routes at the router and, with `watcher`, answers
 * for every layer-2 VIP.
 */
export async function startWorkload(
  stack: BerthStack,
  { bgp = 8, layer2 = 2, watcher }: { bgp?: number; layer2?: number; watcher?: Layer2Watcher } = {},
): Promise<FaultWorkload> {
  const lab = stack.lab;
  if (lab === undefined) throw new RigError('a fault run needs the stack with its lab', 'RIG_BAD_OPTION');
  const bgpNames = Array.from({ length: bgp }, (_, i) => `kept-${i}`);
  const l2Names = Array.from({ length: layer2 }, (_, i) => `kept-lan-${i}`);
  const manifests = [
    ...bgpNames.map((n) => serviceManifest(n, 'kept')),
    ...l2Names.map((n) => serviceManifest(n, 'kept', 'lan')),
  ];
  await stack.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
  const names = [...bgpNames, ...l2Names];
  const addresses = await eventually('addresses for every workload Service', async () => {
    const got = await workloadAddresses(stack);
    return names.every((n) => got.get(n)?.length === 2) ? got : undefined;
  });
  const nodes = lab.hosts.filter((h) => stack.services.some((s) => s.node === h.name));
  const hops = (vip: string) => nodes.map((h) => (vip.includes(':') ? h.ipv6 : h.ipv4)).sort();
  const routes = new Map(bgpNames.flatMap((n) => addresses.get(n) ?? []).map((vip) => [vip, hops(vip)]));
  const layer2Vips = l2Names.flatMap((n) => addresses.get(n) ?? []);
  await eventually('every VIP routed at the router via every node', async () => {
    const got = await lab.routerRoutes();
    return [...routes].every(([vip, want]) => got.get(vip)?.join() === want.join()) ? true : undefined;
  });
  if (watcher !== undefined)
    await eventually('an answer for every layer-2 VIP', async () => {
      const watch = await watcher(layer2Vips);
      await sleep(300);
      const { macs } = await watch.stop();
      return layer2Vips.every((vip) => (macs.get(vip)?.size ?? 0) > 0) ? true : undefined;
    });
  return { addresses: new Map([...addresses].filter(([name]) => names.includes(name))), routes, layer2: layer2Vips };
}

/** Whether every Berth process of the stack answers /readyz with 200. */
async function allReady(stack: BerthStack): Promise<boolean> {
  const probe = (port: string) =>
    `fetch('http://127.0.0.1:${port}/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  const answers = await Promise.all(
    stack.services.map(async (s) => {
      const port = s.process.lines.find((l) => l.msg === 'health server listening')?.['port'];
      if (typeof port !== 'number') return false;
      const host = s.node === undefined ? undefined : stack.lab?.hosts.find((h) => h.name === s.node);
      if (host === undefined)
        return fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      return stack.lab?.exec(host.netns, process.execPath, '-e', probe(String(port))).then(
        () => true,
        () => false,
      );
    }),
  );
  return answers.every((ready) => ready === true);
}

let probes = 0;

/**
 * Injects one fault while routes and ARP answers are watched and Services churn (one created or
 * deleted about every 300 ms), creates a Service right after it, waits `settleMs`, then checks
 * the invariants.
 */
export async function runFault(
  stack: BerthStack,
  workload: FaultWorkload,
  fault: string,
  inject: () => Promise<void>,
  { settleMs = 8000, watcher }: { settleMs?: number; watcher?: Layer2Watcher } = {},
): Promise<FaultResult> {
  const lab = stack.lab as RigLab;
  const routes = watchRoutes(lab, workload.routes);
  const layer2: Layer2Watch | undefined = watcher === undefined ? undefined : await watcher(workload.layer2);
  const churn = { on: true, count: 0 };
  const churning = (async () => {
    for (let i = 0; churn.on && i < 1000; i++) {
      const name = `churn-${i % 4}`;
      const args =
        i % 8 < 4
          ? ['apply', '-f', '-']
          : ['delete', 'service', '-n', 'default', name, '--ignore-not-found', '--wait=false'];
      await stack.kubectl(args, args[0] === 'apply' ? JSON.stringify(serviceManifest(name, 'churn')) : undefined).then(
        () => churn.count++,
        () => undefined,
      );
      await sleep(300);
    }
  })();
  await sleep(1000);
  const faultAt = Date.now();
  await inject();
  const readyAt = eventually('every Berth process ready again', async () =>
    (await allReady(stack)) ? Date.now() : undefined,
  );
  // Created as soon as the API server takes it (it may be the one restarting).
  const probe = `probe-${probes++}`;
  const created = await eventually('the probe Service created', () =>
    stack.kubectl(['apply', '-f', '-'], JSON.stringify(serviceManifest(probe, 'probe'))).then(() => Date.now()),
  );
  const assigned = eventually(
    'an address for the probe Service',
    async () => ((await workloadAddresses(stack)).get(probe)?.length === 2 ? Date.now() : undefined),
    120_000,
  );
  await sleep(settleMs);
  churn.on = false;
  await churning;
  const [routeReport, layer2Report] = await Promise.all([routes.stop(), layer2?.stop()]);
  const readyAfterMs = (await readyAt) - faultAt;
  const newServiceMs = (await assigned) - created;
  await stack.kubectl(['delete', 'service', '-n', 'default', probe, '--wait=false']);
  // Churned Services still present must get addresses too; then the checks.
  const final = await eventually('an address for every workload Service', async () => {
    const got = await workloadAddresses(stack);
    return [...got].every(([name, ips]) => name === probe || ips.length === 2) ? got : undefined;
  }).catch(() => workloadAddresses(stack));
  final.delete(probe);
  const holders = new Map<string, string[]>();
  for (const [name, ips] of final) for (const ip of ips) holders.set(ip, [...(holders.get(ip) ?? []), name]);
  const blackholes = [...routeReport.blackholeMs.values()];
  return {
    fault,
    duplicates: [...holders].filter(([, names]) => names.length > 1).map(([ip, names]) => `${ip}: ${names.join(', ')}`),
    changed: [...workload.addresses]
      .filter(([name, ips]) => final.get(name)?.join() !== ips.join())
      .map(([name, ips]) => `${name}: ${ips.join(', ')} → ${final.get(name)?.join(', ') ?? 'gone'}`),
    unassigned: [...final].filter(([, ips]) => ips.length < 2).map(([name]) => name),
    blackholeMs: Math.max(0, ...blackholes),
    blackholedVips: blackholes.filter((ms) => ms > 0).length,
    wrongHopsMs: Math.max(0, ...routeReport.wrongHopsMs.values()),
    settledAfterMs: routeReport.settledAt === undefined ? 0 : Math.max(0, routeReport.settledAt - faultAt),
    layer2GapMs: Math.max(0, ...(layer2Report?.gapMs.values() ?? [])),
    layer2MacChanges: [...(layer2Report?.macChanges.values() ?? [])].reduce((a, b) => a + b, 0),
    layer2Split: [...(layer2Report?.macs.values() ?? [])].filter((macs) => macs.size > 1).length,
    newServiceMs,
    readyAfterMs,
    churned: churn.count,
  };
}
