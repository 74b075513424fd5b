import { readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';
import { makeCertificates, type RigCertificates } from './tls.js';
import { freePorts, repoRoot, requireTool, secret } from './tools.js';

/**
 * One user of a rig's NATS: a Berth identity (`watcher`, `ipam`, `route-publisher`, `node-agent`,
 * `cli`, `events`) holding exactly the permissions the chart gives it, or `rig`, which may do
 * anything, for a test that plays several parts or looks at what the others did.
 */
export interface RigNatsAccess {
  readonly user: string;
  readonly password: string;
  /** The settings a Berth process reads to reach the server(s) as this user. */
  readonly env: Record<string, string>;
  /** The same, as `connectBus` takes them. */
  readonly config: {
    readonly natsServers: string[];
    readonly natsUser: string;
    readonly natsPassword: string;
    readonly natsTlsCa?: string;
    readonly natsTlsCert?: string;
    readonly natsTlsKey?: string;
  };
}

/** The user that may do anything. */
export const RIG_NATS_USER = 'rig';

/** A private nats-server with JetStream, on a free loopback port, with its own credentials. */
export interface RigNats {
  readonly url: string;
  /** With `tls: true`: the CA and the client certificate the server demands. */
  readonly certificates?: RigCertificates;
  /** How to connect as `user`; throws for a user the server does not have. */
  as(user: string): RigNatsAccess;
  readonly process: RigProcess;
  /**
   * Stops the server (with `kill`, SIGKILL: a crash) and starts it again on the same port with
   * the same JetStream store.
   */
  restart(options?: { downMs?: number; kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts nats-server; with `tls: true` it accepts only TLS clients that present a certificate. */
export async function startNats(options: { tls?: boolean } = {}): Promise<RigNats> {
  const binary = requireTool('nats-server');
  const dir = makeRigDir('nats');
  const certificates = options.tls === true ? await makeCertificates(dir) : undefined;
  const tlsBlock =
    certificates === undefined
      ? []
      : [
          `tls { cert_file: ${JSON.stringify(certificates.serverCert)}, key_file: ${JSON.stringify(certificates.serverKey)},`,
          `  ca_file: ${JSON.stringify(certificates.ca)}, verify: true }`,
        ];
  const users = natsUsers();
  const config = join(dir, 'nats.conf');

  const launch = async (listen: string): Promise<{ server: RigProcess; url: string }> => {
    await writeFile(
      config,
      [
        `listen: ${JSON.stringify(listen)}`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
        ...users.block,
        ...tlsBlock,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    for (const old of (await readdir(dir)).filter((name) => name.endsWith('.ports'))) await rm(join(dir, old));
    const server = spawnServer('nats-server', binary, ['-c', config, '--ports_file_dir', dir], { dir });
    // nats-server writes the port it bound to a ports file: no race for a free port.
    const url = await waitUntil(
      server,
      'listening',
      async () => {
        const file = (await readdir(dir)).find((name) => name.endsWith('.ports'));
        if (file === undefined) return undefined;
        const ports = JSON.parse(await readFile(join(dir, file), 'utf8')) as { nats?: string[] };
        return ports.nats?.[0];
      },
      10_000,
    );
    return { server, url };
  };

  let { server, url } = await launch('127.0.0.1:-1');
  const port = new URL(url).port;
  const stop = () => stopAndRemove([server], [dir]);
  const tls =
    certificates === undefined
      ? {}
      : { natsTlsCa: certificates.ca, natsTlsCert: certificates.clientCert, natsTlsKey: certificates.clientKey };
  return {
    url,
    ...(certificates === undefined ? {} : { certificates }),
    as: (user) => users.access(user, [url], tls),
    get process() {
      return server;
    },
    async restart({ downMs = 0, kill = false } = {}) {
      await server.stop(kill ? 0 : undefined);
      await sleep(downMs);
      ({ server, url } = await launch(`127.0.0.1:${port}`));
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Three (or `size`) nats-servers in one JetStream cluster on loopback, with Berth's users. */
export interface RigNatsCluster {
  /** Every server's client URL, in order. */
  readonly urls: readonly string[];
  /** How to connect to every server as `user` (see `RigNatsAccess`). */
  as(user: string): RigNatsAccess;
  readonly processes: readonly RigProcess[];
  /** SIGKILLs server `index` (a crash); `start(index)` brings it back with its store. */
  kill(index: number): Promise<void>;
  start(index: number): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a JetStream cluster and resolves once it has a meta leader, so streams can be made. */
export async function startNatsCluster(options: { size?: number } = {}): Promise<RigNatsCluster> {
  const size = options.size ?? 3;
  const binary = requireTool('nats-server');
  const dir = makeRigDir('nats-cluster');
  const users = natsUsers();
  // Held open together, so no two of them are the same port.
  const ports = await freePorts(2 * size);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size);
  const servers: RigProcess[] = [];
  const launch = async (index: number) => {
    const name = `n${index + 1}`;
    const config = join(dir, `${name}.conf`);
    await writeFile(
      config,
      [
        `server_name: ${name}`,
        `listen: "127.0.0.1:${clientPorts[index]}"`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, name))} }`,
        ...users.block,
        `cluster {`,
        `  name: berth`,
        `  listen: "127.0.0.1:${routePorts[index]}"`,
        `  routes: [${routePorts.map((port) => `"nats-route://127.0.0.1:${port}"`).join(', ')}]`,
        `}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const server = spawnServer(`nats-${name}`, binary, ['-c', config], { dir });
    servers[index] = server;
    await waitUntil(
      server,
      'listening',
      async () => ((await readFile(server.logFile, 'utf8')).includes('Server is ready') ? true : undefined),
      10_000,
    );
  };
  const stop = () => stopAndRemove(servers, [dir]);
  try {
    await Promise.all(Array.from({ length: size }, (_, i) => launch(i)));
    await waitUntil(
      servers[0] as RigProcess,
      'a JetStream meta leader',
      async () => {
        const logs = await Promise.all(servers.map((s) => readFile(s.logFile, 'utf8')));
        return logs.some((log) =>
          /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/.test(log),
        )
          ? true
          : undefined;
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const urls = clientPorts.map((port) => `nats://127.0.0.1:${port}`);
  return {
    urls,
    as: (user) => users.access(user, urls, {}),
    get processes() {
      return servers;
    },
    kill: (index) => (servers[index] as RigProcess).stop(0),
    start: (index) => launch(index),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Where the chart's bundled NATS and the rig read every identity's permissions from. */
const PERMISSIONS_FILE = join(repoRoot, 'deploy', 'helm', 'berth', 'files', 'nats-permissions.json');

/**
 * Berth's users, each with its own password and the permissions the chart gives it, and `rig`:
 * the `authorization` block of a server's configuration, and how to connect as each.
 */
function natsUsers() {
  const permissions = JSON.parse(readFileSync(PERMISSIONS_FILE, 'utf8')) as Record<string, unknown>;
  const passwords = new Map([RIG_NATS_USER, ...Object.keys(permissions)].map((user) => [user, secret()]));
  const entries = [...passwords].map(([user, password]) =>
    JSON.stringify({ user, password, ...(user === RIG_NATS_USER ? {} : { permissions: permissions[user] }) }),
  );
  return {
    block: ['authorization {', '  users: [', ...entries.map((entry) => `    ${entry}`), '  ]', '}'],
    access(
      user: string,
      servers: readonly string[],
      tls: { natsTlsCa?: string; natsTlsCert?: string; natsTlsKey?: string },
    ): RigNatsAccess {
      const password = passwords.get(user);
      if (password === undefined)
        throw new Error(`the rig's NATS has no user ${user}: take one of ${[...passwords.keys()].join(', ')}`);
      const env: Record<string, string> = {
        BERTH_NATS_SERVERS: servers.join(','),
        BERTH_NATS_USER: user,
        BERTH_NATS_PASSWORD: password,
        ...(tls.natsTlsCa === undefined ? {} : { BERTH_NATS_TLS_CA: tls.natsTlsCa }),
        ...(tls.natsTlsCert === undefined ? {} : { BERTH_NATS_TLS_CERT: tls.natsTlsCert }),
        ...(tls.natsTlsKey === undefined ? {} : { BERTH_NATS_TLS_KEY: tls.natsTlsKey }),
      };
      return {
        user,
        password,
        env,
        config: { natsServers: [...servers], natsUser: user, natsPassword: password, ...tls },
      };
    },
  };
}
