import { execFile } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { RigError } from './errors.js';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/** A host of the lab: a network namespace with `eth0` on the router's bridge. */
export interface LabHost {
  readonly name: string;
  readonly netns: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /**
   * A host outside the LAN's routing (LabOptions.uplinks) also has `eth1` on the router's other
   * network, 198.18.254.0/24 and 2001:db8:fe::/64, with its default routes through the router.
   */
  readonly uplink?: { readonly ipv4: string; readonly ipv6: string };
}

export interface LabOptions {
  /**
   * Hosts that also sit behind the router: what they send beyond the LAN goes through the
   * router's routing table (the routes BGP put there), as a client elsewhere in a network would.
   */
  readonly uplinks?: readonly string[];
}

/**
 * A LAN of network namespaces: a router namespace holding bridge `br0` (192.0.2.254,
 * 2001:db8::254), and hosts numbered from 192.0.2.11 / 2001:db8::11. The router forwards, also to
 * and from its second bridge `br1` of uplinked hosts. Documentation and test-lab addresses only.
 */
export interface RigLab {
  readonly dir: string;
  readonly router: LabHost;
  readonly hosts: readonly LabHost[];
  /** Runs a command inside a namespace and returns its standard output. */
  exec(netns: string, command: string, ...args: string[]): Promise<string>;
  /** The next hops of `prefix` in the router's kernel routing table, sorted (empty: no route). */
  routerNextHops(prefix: string): Promise<string[]>;
  /** Every route of both families in the router's kernel: destination → sorted next hops. */
  routerRoutes(): Promise<Map<string, string[]>>;
  /**
   * Connects `host` to a TCP server of the root namespace (`target`: `nats://127.0.0.1:4222`),
   * at `port` of the host's own loopback (default 4222): one port per server of a cluster.
   */
  busLink(host: LabHost, target: string, port?: number): Promise<RigBusLink>;
  /** Starts tcpdump (`-nn -e -tt -l`) on `eth0` of `host` with a capture filter; resolves once it listens. */
  capture(host: LabHost, filter: string): Promise<RigCapture>;
  /** Starts BIRD 2 in the router namespace with this configuration. */
  startBird(config: string): Promise<RigBird>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A lab host's own way to the bus: `url` inside the host's namespace leads to a server in the
 * root namespace, through a Unix socket. It can be cut, for one host alone.
 */
export interface RigBusLink {
  /** What the host's processes connect to (`BERTH_NATS_SERVERS`). */
  readonly url: string;
  /** Silently drops everything both ways, as a dead switch port would: connections stay open. */
  cut(): void;
  /** Resets the connections that were cut (their streams lost bytes) and carries traffic again. */
  restore(): void;
  close(): Promise<void>;
}

/** tcpdump running in a lab host, its lines collected in a file. */
export interface RigCapture {
  /** What it printed so far. */
  text(): Promise<string>;
  stop(): Promise<void>;
}

export interface RigBird {
  readonly process: RigProcess;
  /** Its control socket, for `birdc -s`. */
  readonly socket: string;
  birdc(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * BIRD 2 as the lab's upstream router (router ID 192.0.2.254): the given BGP `sessions`, and
 * every route they import goes into the router's kernel, one ECMP route per prefix.
 */
export function routerBirdConfig(sessions: string): string {
  return `router id 192.0.2.254;
protocol device { scan time 10; }
protocol kernel kernel4 { ipv4 { import none; export all; }; merge paths on; }
protocol kernel kernel6 { ipv6 { import none; export all; }; merge paths on; }
${sessions}
`;
}

export async function startLab(hostNames: readonly string[], options: LabOptions = {}): Promise<RigLab> {
  if (process.getuid?.() !== 0) throw new RigError('a network lab needs root (ip netns)', 'RIG_NEEDS_ROOT');
  const ip = requireTool('ip');
  const dir = makeRigDir('lab');
  const id = randomBytes(3).toString('hex');
  const sh = async (...args: string[]) => (await run(ip, args, { timeout: 10_000 })).stdout;
  const created: string[] = [];
  const addNetns = async (name: string) => {
    const netns = `berth-${id}-${name}`;
    // Recorded before creating, so a killed run's namespaces are swept by the next.
    appendFileSync(join(dir, 'netns'), `${netns}\n`);
    await sh('netns', 'add', netns);
    created.push(netns);
    await sh('-n', netns, 'link', 'set', 'lo', 'up');
    return netns;
  };
  const servers: RigProcess[] = [];
  const links: RigBusLink[] = [];
  const stop = async () => {
    for (const link of links) await link.close();
    await stopAndRemove(servers, []);
    for (const netns of created) await sh('netns', 'del', netns).catch(() => undefined);
    await stopAndRemove([], [dir]);
  };
  try {
    const routerNs = await addNetns('rtr');
    const router: LabHost = { name: 'rtr', netns: routerNs, ipv4: '192.0.2.254', ipv6: '2001:db8::254' };
    await sh('-n', routerNs, 'link', 'add', 'br0', 'type', 'bridge');
    await sh('-n', routerNs, 'link', 'set', 'br0', 'up');
    await sh('-n', routerNs, 'addr', 'add', '192.0.2.254/24', 'dev', 'br0');
    await sh('-n', routerNs, 'addr', 'add', '2001:db8::254/64', 'dev', 'br0', 'nodad');
    const uplinks = options.uplinks ?? [];
    if (uplinks.length > 0) {
      await sh('-n', routerNs, 'link', 'add', 'br1', 'type', 'bridge');
      await sh('-n', routerNs, 'link', 'set', 'br1', 'up');
      await sh('-n', routerNs, 'addr', 'add', '198.18.254.1/24', 'dev', 'br1');
      await sh('-n', routerNs, 'addr', 'add', '2001:db8:fe::1/64', 'dev', 'br1', 'nodad');
    }
    await run(ip, [
      'netns',
      'exec',
      routerNs,
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      // ECMP by ports too, as routers hash flows: a client's connections spread over the next hops.
      'net.ipv4.fib_multipath_hash_policy=1',
      'net.ipv6.fib_multipath_hash_policy=1',
    ]);
    /** A veth from the router's `bridge` to `device` of the host, with these addresses. */
    const attach = async (netns: string, veth: string, bridge: string, device: string, ipv4: string, ipv6: string) => {
      await sh('-n', routerNs, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', device, 'netns', netns);
      await sh('-n', routerNs, 'link', 'set', veth, 'master', bridge, 'up');
      await sh('-n', netns, 'addr', 'add', `${ipv4}/24`, 'dev', device);
      await sh('-n', netns, 'addr', 'add', `${ipv6}/64`, 'dev', device, 'nodad');
      await sh('-n', netns, 'link', 'set', device, 'up');
    };
    const hosts: LabHost[] = [];
    for (const [i, name] of hostNames.entries()) {
      const netns = await addNetns(name);
      const lan = { ipv4: `192.0.2.${11 + i}`, ipv6: `2001:db8::${11 + i}` };
      await attach(netns, `v-${id}-${i}`, 'br0', 'eth0', lan.ipv4, lan.ipv6);
      if (!uplinks.includes(name)) {
        hosts.push({ name, netns, ...lan });
        continue;
      }
      const uplink = { ipv4: `198.18.254.${11 + i}`, ipv6: `2001:db8:fe::${11 + i}` };
      await attach(netns, `u-${id}-${i}`, 'br1', 'eth1', uplink.ipv4, uplink.ipv6);
      await sh('-n', netns, 'route', 'add', 'default', 'via', '198.18.254.1');
      await sh('-n', netns, '-6', 'route', 'add', 'default', 'via', '2001:db8:fe::1');
      hosts.push({ name, netns, ...lan, uplink });
    }
    return {
      dir,
      router,
      hosts,
      exec: async (netns, command, ...args) =>
        (await run(ip, ['netns', 'exec', netns, command, ...args], { timeout: 30_000, maxBuffer: 256 * 2 ** 20 }))
          .stdout,
      async routerNextHops(prefix) {
        const family = prefix.includes(':') ? '-6' : '-4';
        const routes = kernelRoutes(await sh('-n', routerNs, family, '-j', 'route', 'show', prefix));
        return routes.flatMap(([, hops]) => hops).sort();
      },
      async routerRoutes() {
        const [v4, v6] = await Promise.all(['-4', '-6'].map((family) => sh('-n', routerNs, family, '-j', 'route')));
        return new Map([...kernelRoutes(v4 ?? ''), ...kernelRoutes(v6 ?? '')]);
      },
      async busLink(host, target, port = 4222) {
        const link = await busLink(dir, host, target, servers, port);
        links.push(link);
        return link;
      },
      async capture(host, filter) {
        const tcpdump = requireTool('tcpdump');
        const name = `tcpdump-${host.name}-${servers.length}`;
        const args = ['-i', 'eth0', '-nn', '-e', '-tt', '-l', '-U', filter];
        const server = spawnServer(name, tcpdump, args, { dir, netns: host.netns });
        servers.push(server);
        const text = () => readFile(server.logFile, 'utf8');
        await waitUntil(server, 'listening', async () => (await text()).includes('listening on'), 10_000);
        return { text, stop: () => server.stop() };
      },
      async startBird(config) {
        const bird = requireTool('bird');
        const birdc = requireTool('birdc');
        const conf = join(dir, 'bird.conf');
        const ctl = join(dir, 'bird.ctl');
        writeFileSync(conf, config);
        const server = spawnServer('bird', bird, ['-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')], {
          dir,
          netns: routerNs,
        });
        servers.push(server);
        const cli = async (...args: string[]) => (await run(birdc, ['-s', ctl, ...args], { timeout: 10_000 })).stdout;
        await waitUntil(server, 'answering birdc', () => cli('show', 'status').then(() => true), 10_000);
        return { process: server, socket: ctl, birdc: cli, stop: () => server.stop() };
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `ip -j route` output as destination → sorted next hops (one gateway, or an ECMP route's). */
function kernelRoutes(json: string): [string, string[]][] {
  const routes = JSON.parse(json === '' ? '[]' : json) as {
    dst: string;
    gateway?: string;
    nexthops?: { gateway: string }[];
  }[];
  return routes.map((r) => [
    r.dst,
    (r.nexthops ?? [])
      .map((h) => h.gateway)
      .concat(r.gateway ?? [])
      .sort(),
  ]);
}

async function busLink(
  dir: string,
  host: LabHost,
  target: string,
  servers: RigProcess[],
  localPort: number,
): Promise<RigBusLink> {
  const { hostname, port } = new URL(target);
  const path = join(dir, `bus-${host.name}-${localPort}.sock`);
  let cut = false;
  const open = new Set<Socket>();
  const server = createServer((inner) => {
    const outer = connect(Number(port), hostname);
    const pair = [inner, outer] as const;
    for (const socket of pair) {
      open.add(socket);
      socket
        .on('error', () => undefined)
        .on('close', () => {
          open.delete(socket);
          for (const other of pair) other.destroy();
        });
    }
    inner.on('data', (chunk: Buffer) => {
      if (!cut) outer.write(chunk);
    });
    outer.on('data', (chunk: Buffer) => {
      if (!cut) inner.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  const forward = join(dirname(fileURLToPath(import.meta.url)), 'forward.js');
  const forwarder = spawnServer(
    `bus-forward-${host.name}-${localPort}`,
    process.execPath,
    [forward, `127.0.0.1:${localPort}`, path],
    {
      dir,
      netns: host.netns,
    },
  );
  servers.push(forwarder);
  await waitUntil(
    forwarder,
    'listening',
    async () => (await readFile(forwarder.logFile, 'utf8')).includes('listening'),
    10_000,
  );
  return {
    url: `nats://127.0.0.1:${localPort}`,
    cut: () => {
      cut = true;
    },
    restore: () => {
      for (const socket of open) socket.destroy();
      cut = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await forwarder.stop();
    },
  };
}
