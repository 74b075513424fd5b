import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from './berth-traffic.js';
import { RigError } from './errors.js';
import type { RigLab } from './lab.js';
import type { BerthStack } from './stack.js';

/** What the lab router's kernel held for each BGP VIP while a fault happened. */
export interface RouteWatchReport {
  readonly samples: number;
  /** Per VIP, how long (ms) the router had no route for it: traffic to it went nowhere. */
  readonly blackholeMs: ReadonlyMap<string, number>;
  /** Per VIP, how long (ms) its route's next hops were other than expected. */
  readonly wrongHopsMs: ReadonlyMap<string, number>;
  /**
   * When every VIP had its expected route for good (epoch ms of the first sample after the last
   * wrong one): undefined when it always had, Infinity when it still had not at the end.
   */
  readonly settledAt: number | undefined;
}

export interface RouteWatch {
  stop(): Promise<RouteWatchReport>;
}

/**
 * Samples the router's routes every `everyMs` until stopped (or for `maxMs` at most), comparing
 * each VIP's next hops with `expected` (VIP → sorted next hops). Each interval between two
 * samples counts as the first one found it.
 */
export function watchRoutes(
  lab: RigLab,
  expected: ReadonlyMap<string, readonly string[]>,
  { everyMs = 50, maxMs = 300_000 } = {},
): RouteWatch {
  const blackholeMs = new Map([...expected.keys()].map((vip) => [vip, 0]));
  const wrongHopsMs = new Map(blackholeMs);
  const started = Date.now();
  let samples = 0;
  // The time of the first sample after the last wrong one.
  let lastBadAt: number | undefined;
  const state = { stopping: false };
  const running = (async () => {
    let previous: { at: number; missing: string[]; wrong: string[] } | undefined;
    while (!state.stopping && Date.now() - started < maxMs) {
      const routes = await lab.routerRoutes();
      const at = Date.now();
      samples++;
      if (previous !== undefined) {
        const dt = at - previous.at;
        for (const vip of previous.missing) blackholeMs.set(vip, (blackholeMs.get(vip) ?? 0) + dt);
        for (const vip of previous.wrong) wrongHopsMs.set(vip, (wrongHopsMs.get(vip) ?? 0) + dt);
        if (previous.missing.length + previous.wrong.length > 0) lastBadAt = at;
      }
      const missing: string[] = [];
      const wrong: string[] = [];
      for (const [vip, hops] of expected) {
        const got = routes.get(vip);
        if (got === undefined) missing.push(vip);
        else if (got.join() !== hops.join()) wrong.push(vip);
      }
      previous = { at, missing, wrong };
      await sleep(everyMs);
    }
    return previous;
  })();
  return {
    async stop() {
      state.stopping = true;
      const last = await running;
      const unsettled = last !== undefined && last.missing.length + last.wrong.length > 0;
      return {
        samples,
        blackholeMs,
        wrongHopsMs,
        settledAt: unsettled ? Infinity : lastBadAt,
      };
    },
  };
}

/** The Services a fault run keeps, and what the network should deliver for them. */
export interface FaultWorkload {
  /** Service name → its addresses as first assigned, sorted. */
  readonly addresses: ReadonlyMap<string, readonly string[]>;
  /** BGP VIP → the router's expected next hops (every node), sorted. */
  readonly routes: ReadonlyMap<string, readonly string[]>;
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
  /** From the fault until every Berth process said ready (ms). */
  readonly readyAfterMs: number;
  /** Services created and deleted meanwhile. */
  readonly churned: number;
}

const WORKLOAD_LABEL = 'berth.dev/fault-workload';

function serviceManifest(name: string, role: 'kept' | 'churn'): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: { [WORKLOAD_LABEL]: role } },
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

/** Creates `services` dual-stack BGP Services and waits for their addresses and routes. */
export async function startWorkload(stack: BerthStack, { services = 8 } = {}): Promise<FaultWorkload> {
  const lab = stack.lab;
  if (lab === undefined) throw new RigError('a fault run needs the stack with its lab', 'RIG_BAD_OPTION');
  const names = Array.from({ length: services }, (_, i) => `kept-${i}`);
  await stack.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: names.map((n) => serviceManifest(n, 'kept')) }),
  );
  const addresses = await eventually('addresses for every workload Service', async () => {
    const got = await workloadAddresses(stack);
    return names.every((n) => got.get(n)?.length === 2) ? got : undefined;
  });
  const nodes = lab.hosts.filter((h) => stack.services.some((s) => s.node === h.name));
  const hops = (vip: string) => nodes.map((h) => (vip.includes(':') ? h.ipv6 : h.ipv4)).sort();
  const routes = new Map([...addresses.values()].flat().map((vip) => [vip, hops(vip)]));
  await eventually('every VIP routed at the router via every node', async () => {
    const got = await lab.routerRoutes();
    return [...routes].every(([vip, want]) => got.get(vip)?.join() === want.join()) ? true : undefined;
  });
  return { addresses, routes };
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

/**
 * Injects one fault while the routes are watched and Services churn (one created or deleted
 * about every 300 ms), waits `settleMs` after it, then checks the invariants.
 */
export async function runFault(
  stack: BerthStack,
  workload: FaultWorkload,
  fault: string,
  inject: () => Promise<void>,
  { settleMs = 8000 } = {},
): Promise<FaultResult> {
  const lab = stack.lab as RigLab;
  const watch = watchRoutes(lab, workload.routes);
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
  await sleep(settleMs);
  churn.on = false;
  await churning;
  const report = await watch.stop();
  const readyAfterMs = (await readyAt) - faultAt;
  // Churned Services still present must get addresses too; then the checks.
  const final = await eventually('an address for every workload Service', async () => {
    const got = await workloadAddresses(stack);
    return [...got.values()].every((ips) => ips.length === 2) ? got : undefined;
  }).catch(() => workloadAddresses(stack));
  const holders = new Map<string, string[]>();
  for (const [name, ips] of final) for (const ip of ips) holders.set(ip, [...(holders.get(ip) ?? []), name]);
  const blackholes = [...report.blackholeMs.values()];
  return {
    fault,
    duplicates: [...holders].filter(([, names]) => names.length > 1).map(([ip, names]) => `${ip}: ${names.join(', ')}`),
    changed: [...workload.addresses]
      .filter(([name, ips]) => final.get(name)?.join() !== ips.join())
      .map(([name, ips]) => `${name}: ${ips.join(', ')} → ${final.get(name)?.join(', ') ?? 'gone'}`),
    unassigned: [...final].filter(([, ips]) => ips.length < 2).map(([name]) => name),
    blackholeMs: Math.max(0, ...blackholes),
    blackholedVips: blackholes.filter((ms) => ms > 0).length,
    wrongHopsMs: Math.max(0, ...report.wrongHopsMs.values()),
    settledAfterMs: report.settledAt === undefined ? 0 : Math.max(0, report.settledAt - faultAt),
    readyAfterMs,
    churned: churn.count,
  };
}
