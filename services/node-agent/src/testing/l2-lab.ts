import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Buckets, connectBus, type Bus, type SnapshotBucket } from '@berth/bus';
import type {
  AllocationSnapshot,
  EndpointsSnapshot,
  NodeSnapshot,
  PoolSnapshot,
  ServiceSnapshot,
} from '@berth/contracts';
import { exampleAllocation, exampleNode, examplePool, exampleService } from '@berth/contracts/examples';
import { createLogger } from '@berth/runtime';
import {
  startBerthProcess,
  startLab,
  startNats,
  type BerthProcess,
  type LabHost,
  type RigBusLink,
  type RigLab,
  type RigNats,
  type RigNatsAccess,
} from '@berth/rig';
import { parseCapture, type WireFrame } from './capture.js';

export const NODE_AGENT_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
const PROBER = join(dirname(fileURLToPath(import.meta.url)), 'prober.js');

export interface L2LabOptions {
  /** Node hosts, each with its own node-agent (default 3). */
  readonly nodes?: number;
  readonly healthTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
}

/**
 * A LAN of network namespaces for layer 2: a `client` and `node1..N` on one bridge, a private
 * NATS reached by each node through its own cuttable link, and a node-agent per node started on
 * demand. Snapshots are written straight to the bus, as the watcher and ipam would.
 */
export class L2Lab {
  readonly agents = new Map<string, BerthProcess>();
  readonly #macs = new Map<string, string>();
  readonly #probers = new Set<ChildProcess>();

  private constructor(
    readonly nats: RigNats,
    readonly lab: RigLab,
    readonly bus: Bus,
    readonly links: ReadonlyMap<string, RigBusLink>,
    /** Each node's own credential. */
    private readonly credentials: ReadonlyMap<string, RigNatsAccess>,
    private readonly buckets: {
      services: SnapshotBucket<ServiceSnapshot>;
      allocations: SnapshotBucket<AllocationSnapshot>;
      endpoints: SnapshotBucket<EndpointsSnapshot>;
      nodes: SnapshotBucket<NodeSnapshot>;
      pools: SnapshotBucket<PoolSnapshot>;
    },
    private readonly options: L2LabOptions,
  ) {}

  static async start(options: L2LabOptions = {}): Promise<L2Lab> {
    const names = Array.from({ length: options.nodes ?? 3 }, (_, i) => `node${i + 1}`);
    const nats = await startNats();
    let lab: RigLab | undefined;
    try {
      lab = await startLab(['client', ...names]);
      const links = new Map<string, RigBusLink>();
      const credentials = new Map<string, RigNatsAccess>();
      for (const host of lab.hosts.slice(1)) {
        links.set(host.name, await lab.busLink(host, nats.url));
        credentials.set(host.name, await nats.nodeAgent(host.name));
      }
      const bus = await connectBus(nats.as('rig').config, {
        name: 'l2-lab',
        identity: 'watcher',
        logger: createLogger('l2-lab', 'silent'),
      });
      // Playing the watcher, which makes the buckets.
      await bus.ensureTopology();
      const buckets = {
        services: await bus.bucket(Buckets.services),
        allocations: await bus.bucket(Buckets.allocations),
        endpoints: await bus.bucket(Buckets.endpoints),
        nodes: await bus.bucket(Buckets.nodes),
        pools: await bus.bucket(Buckets.pools),
      };
      const l2 = new L2Lab(nats, lab, bus, links, credentials, buckets, options);
      await buckets.pools.put(
        examplePool('lan', ['192.0.2.100-192.0.2.199', '2001:db8::100-2001:db8::1ff'], {
          mode: 'layer2',
          layer2: { interfaces: [] },
        }),
      );
      for (const host of l2.nodes) await buckets.nodes.put(exampleNode(host.name, [host.ipv4, host.ipv6]));
      return l2;
    } catch (error) {
      await lab?.stop();
      await nats.stop();
      throw error;
    }
  }

  get client(): LabHost {
    return this.#host('client');
  }

  get nodes(): LabHost[] {
    return this.lab.hosts.filter((h) => h.name !== 'client');
  }

  /** A Service `shop/<name>` with a layer-2 lease of `addresses` from pool `lan`. */
  async service(name: string, addresses: string[], overrides: Partial<ServiceSnapshot> = {}): Promise<void> {
    const svc = exampleService(0, 'shop', { key: `shop/${name}`, name, uid: `uid-${name}`, ...overrides });
    await this.buckets.services.put(svc);
    await this.buckets.allocations.put(exampleAllocation(svc.key, svc.uid, 'lan', addresses, 'layer2'));
  }

  async readyEndpoints(name: string, readyByNode: Record<string, number>): Promise<void> {
    await this.buckets.endpoints.put({ v: 1, key: `shop/${name}`, revision: String(Date.now()), readyByNode });
  }

  /** Starts (or restarts) the node-agent of `node` inside its namespace. */
  startAgent(node: string, env: Record<string, string> = {}): BerthProcess {
    const link = this.links.get(node);
    if (link === undefined) throw new Error(`no node ${node} in the lab`);
    const agent = startBerthProcess(
      NODE_AGENT_MAIN,
      {
        ...(this.credentials.get(node)?.env ?? {}),
        BERTH_NATS_SERVERS: link.url,
        BERTH_NODE_NAME: node,
        BERTH_LOG_LEVEL: 'debug',
        ...(this.options.healthTimeoutMs === undefined
          ? {}
          : { BERTH_NODE_HEALTH_TIMEOUT_MS: String(this.options.healthTimeoutMs) }),
        ...(this.options.heartbeatIntervalMs === undefined
          ? {}
          : { BERTH_HEARTBEAT_INTERVAL_MS: String(this.options.heartbeatIntervalMs) }),
        ...env,
      },
      { netns: this.#host(node).netns },
    );
    this.agents.set(node, agent);
    return agent;
  }

  /** SIGKILL: no goodbye, no heartbeat removed. */
  async kill(node: string): Promise<void> {
    const agent = this.agents.get(node);
    agent?.child.kill('SIGKILL');
    await agent?.exit;
  }

  /** The MAC of `eth0` in a host. */
  async macOf(host: string): Promise<string> {
    const known = this.#macs.get(host);
    if (known !== undefined) return known;
    const out = await this.lab.exec(this.#host(host).netns, 'ip', '-j', 'link', 'show', 'eth0');
    const [link] = JSON.parse(out) as { address: string }[];
    if (link === undefined) throw new Error(`no eth0 in ${host}`);
    this.#macs.set(host, link.address);
    return link.address;
  }

  /** The node whose MAC is `mac`. */
  async nodeWithMac(mac: string): Promise<string | undefined> {
    for (const host of this.nodes) if ((await this.macOf(host.name)) === mac.toLowerCase()) return host.name;
    return undefined;
  }

  /**
   * Broadcasts `count` ARP requests for `ip` from the client, a second apart (`-b`: every node
   * sees every one), and returns the MAC of each reply, in order.
   */
  async arping(ip: string, count = 1): Promise<string[]> {
    const args = ['-b', '-c', String(count), '-w', String(count + 1), '-I', 'eth0', ip];
    const out = await this.lab.exec(this.client.netns, 'arping', ...args).catch((error: unknown) => {
      // arping exits 1 when nothing answered; its output still tells.
      return (error as { stdout?: string }).stdout ?? '';
    });
    return [...out.matchAll(/reply from \S+ \[([0-9A-F:]{17})\]/gi)].map((m) => (m[1] ?? '').toLowerCase());
  }

  /** Neighbor Solicitations for `ip` from the client; the MAC of every advertisement received. */
  async ndisc(ip: string): Promise<string[]> {
    const out = await this.lab
      .exec(this.client.netns, 'ndisc6', '-m', '-n', '-r', '1', '-w', '1500', ip, 'eth0')
      .catch((error: unknown) => (error as { stdout?: string }).stdout ?? '');
    return [...out.matchAll(/Target link-layer address: ([0-9A-F:]{17})/gi)].map((m) => (m[1] ?? '').toLowerCase());
  }

  /** Waits until ARP for `ip` is answered by exactly one node, other than `not`; returns it. */
  async waitForOwner(ip: string, options: { not?: string; timeoutMs?: number } = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    let last: string[] = [];
    while (Date.now() < deadline) {
      last = [...new Set(ip.includes(':') ? await this.ndisc(ip) : await this.arping(ip))];
      const [mac] = last;
      if (last.length === 1 && mac !== undefined) {
        const node = await this.nodeWithMac(mac);
        if (node !== undefined && node !== options.not) return node;
      }
      await sleep(100);
    }
    throw new Error(`no single owner for ${ip}: last answers from ${last.join(', ') || 'nobody'}`);
  }

  /** tcpdump of ARP and NDP on the client; `frames()` reads what it saw so far. */
  async capture(): Promise<{ frames(): Promise<WireFrame[]>; stop(): Promise<void> }> {
    const capture = await this.lab.capture(this.client, 'arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136))');
    return { frames: async () => parseCapture(await capture.text()), stop: () => capture.stop() };
  }

  /**
   * Asks for `ips` from the client, `batch` times every `intervalMs`, until `stop()` (or
   * `durationMs`): ARP for IPv4, Neighbor Solicitations for IPv6. Answers are seen in a
   * `capture()`; `stop()` also says how many requests went out and how many answers came back.
   */
  async probe(
    ips: readonly string[],
    options: { intervalMs?: number; durationMs?: number; batch?: number } = {},
  ): Promise<{ stop(): Promise<{ sent: number; answers: number }> }> {
    const { client } = this;
    const { intervalMs = 50, durationMs = 120_000, batch = 1 } = options;
    const timing = [String(intervalMs), String(durationMs), String(batch)];
    const args = [PROBER, 'eth0', ...timing, client.ipv4, client.ipv6, ...ips];
    const child = spawn('ip', ['netns', 'exec', client.netns, process.execPath, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#probers.add(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('close', (code) => reject(new Error(`the prober exited with ${String(code)}`)));
    });
    return {
      stop: async () => {
        child.kill('SIGTERM');
        await exited;
        this.#probers.delete(child);
        const summary = output.trim().split('\n').at(-1) ?? '{}';
        return JSON.parse(summary) as { sent: number; answers: number };
      },
    };
  }

  async stop(): Promise<void> {
    for (const child of this.#probers) child.kill('SIGKILL');
    await Promise.all([...this.agents.values()].map((agent) => agent.stop()));
    await this.bus.close();
    await this.lab.stop();
    await this.nats.stop();
  }

  #host(name: string): LabHost {
    const host = this.lab.hosts.find((h) => h.name === name);
    if (host === undefined) throw new Error(`no host ${name} in the lab`);
    return host;
  }
}
