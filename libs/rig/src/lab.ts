import { execFile } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
}

/**
 * A LAN of network namespaces: a router namespace holding bridge `br0` (192.0.2.254,
 * 2001:db8::254), and hosts numbered from 192.0.2.11 / 2001:db8::11. Documentation addresses only.
 */
export interface RigLab {
  readonly dir: string;
  readonly router: LabHost;
  readonly hosts: readonly LabHost[];
  /** Runs a command inside a namespace and returns its standard output. */
  exec(netns: string, command: string, ...args: string[]): Promise<string>;
  /** The next hops of `prefix` in the router's kernel routing table, sorted (empty: no route). */
  routerNextHops(prefix: string): Promise<string[]>;
  /** Starts BIRD 2 in the router namespace with this configuration. */
  startBird(config: string): Promise<RigBird>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface RigBird {
  readonly process: RigProcess;
  birdc(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startLab(hostNames: readonly string[]): Promise<RigLab> {
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
  const stop = async () => {
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
    const hosts: LabHost[] = [];
    for (const [i, name] of hostNames.entries()) {
      const netns = await addNetns(name);
      const host: LabHost = { name, netns, ipv4: `192.0.2.${11 + i}`, ipv6: `2001:db8::${11 + i}` };
      const veth = `v-${id}-${i}`;
      await sh('-n', routerNs, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
      await sh('-n', routerNs, 'link', 'set', veth, 'master', 'br0', 'up');
      await sh('-n', netns, 'addr', 'add', `${host.ipv4}/24`, 'dev', 'eth0');
      await sh('-n', netns, 'addr', 'add', `${host.ipv6}/64`, 'dev', 'eth0', 'nodad');
      await sh('-n', netns, 'link', 'set', 'eth0', 'up');
      hosts.push(host);
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
        const out = await sh('-n', routerNs, family, '-j', 'route', 'show', prefix);
        const routes = JSON.parse(out === '' ? '[]' : out) as { gateway?: string; nexthops?: { gateway: string }[] }[];
        const hops = routes.flatMap((r) => (r.nexthops ?? []).map((h) => h.gateway).concat(r.gateway ?? []));
        return hops.sort();
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
        return { process: server, birdc: cli, stop: () => server.stop() };
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
