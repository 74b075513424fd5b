import { readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';
import { makeCertificates, type RigCertificates } from './tls.js';
import { natsServerBinary } from './cache.js';
import { freePorts, repoRoot, secret } from './tools.js';

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
  /**
   * How a node-agent connects for `node`: a user of that node's own (made on first asking, and the
   * server's configuration reloaded), allowed only its node's heartbeat, health entry and events.
   */
  nodeAgent(node: string): Promise<RigNatsAccess>;
  readonly process: RigProcess;
  /**
   * Stops the server (with `kill`, SIGKILL: a crash) and starts it again on the same port with
   * the same JetStream store.
   */
  restart(options?: { downMs?: number; kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts nats-server; with `tls: true` it accepts only TLS clients that present a certificate.
 * With `calloutIssuer` (an account's public NKey) a client that is none of the configured users is
 * judged by the auth callout: whoever answers `$SYS.REQ.USER.AUTH` as `bus-auth`, signing with
 * that account's key.
 */
export async function startNats(options: { tls?: boolean; calloutIssuer?: string } = {}): Promise<RigNats> {
  const binary = natsServerBinary();
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

  const writeConfig = (listen: string) =>
    writeFile(
      config,
      [
        `listen: ${JSON.stringify(listen)}`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
        ...users.block(options.calloutIssuer),
        ...tlsBlock,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  const launch = async (listen: string): Promise<{ server: RigProcess; url: string }> => {
    await writeConfig(listen);
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
    nodeAgent: async (node) => {
      if (users.addNode(node)) {
        await writeConfig(`127.0.0.1:${port}`);
        await reload([server]);
      }
      return users.access(users.nodeUser(node), [url], tls);
    },
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
  /** How a node-agent connects for `node` (see `RigNats.nodeAgent`). */
  nodeAgent(node: string): Promise<RigNatsAccess>;
  readonly processes: readonly RigProcess[];
  /** SIGKILLs server `index` (a crash); `start(index)` brings it back with its store. */
  kill(index: number): Promise<void>;
  start(index: number): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a JetStream cluster and resolves once it has a meta leader, so streams can be made. With
 * `advertise: false` the servers tell clients nothing of each other: a client knows only the URLs
 * it was given.
 */
export async function startNatsCluster(options: { size?: number; advertise?: boolean } = {}): Promise<RigNatsCluster> {
  const size = options.size ?? 3;
  const binary = natsServerBinary();
  const dir = makeRigDir('nats-cluster');
  const users = natsUsers();
  // Held open together, so no two of them are the same port.
  const ports = await freePorts(2 * size);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size);
  const servers: RigProcess[] = [];
  const configOf = (index: number) => join(dir, `n${index + 1}.conf`);
  const writeConfig = (index: number) =>
    writeFile(
      configOf(index),
      [
        `server_name: n${index + 1}`,
        `listen: "127.0.0.1:${clientPorts[index]}"`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, `n${index + 1}`))} }`,
        ...users.block(),
        `cluster {`,
        `  name: berth`,
        `  listen: "127.0.0.1:${routePorts[index]}"`,
        ...(options.advertise === false ? ['  no_advertise: true'] : []),
        `  routes: [${routePorts.map((port) => `"nats-route://127.0.0.1:${port}"`).join(', ')}]`,
        `}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  const launch = async (index: number) => {
    await writeConfig(index);
    const server = spawnServer(`nats-n${index + 1}`, binary, ['-c', configOf(index)], { dir });
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
    nodeAgent: async (node) => {
      if (users.addNode(node)) {
        await Promise.all(servers.map((_, i) => writeConfig(i)));
        await reload(servers);
      }
      return users.access(users.nodeUser(node), urls, {});
    },
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
 * Berth's users, each with its own password and the permissions the chart gives it; a user per
 * node-agent's node, from the file's node-agent template; and `rig`. `block` is the
 * `authorization` block of a server's configuration.
 */
function natsUsers() {
  const permissions = JSON.parse(readFileSync(PERMISSIONS_FILE, 'utf8')) as Record<string, unknown>;
  const { [NODE_AGENT]: nodeTemplate, ...fixed } = permissions;
  if (nodeTemplate === undefined) throw new Error(`${PERMISSIONS_FILE} has no ${NODE_AGENT} template`);
  const passwords = new Map([RIG_NATS_USER, ...Object.keys(fixed)].map((user) => [user, secret()]));
  const nodes = new Map<string, unknown>();
  const nodeUser = (node: string) => `${NODE_AGENT}:${node}`;
  return {
    nodeUser,
    /** Adds `node`'s user; false when it has one already. */
    addNode(node: string): boolean {
      if (nodes.has(node)) return false;
      // The template's placeholders: the node's name, and that name as one subject token.
      const text = JSON.stringify(nodeTemplate)
        .replaceAll('{nodeToken}', node.replaceAll('.', '_'))
        .replaceAll('{node}', node);
      nodes.set(node, JSON.parse(text));
      passwords.set(nodeUser(node), secret());
      return true;
    },
    /** With `calloutIssuer`, every other client is judged by the auth callout. */
    block(calloutIssuer?: string): string[] {
      const entries = [...passwords].map(([user, password]) => {
        const node = user.startsWith(`${NODE_AGENT}:`) ? nodes.get(user.slice(NODE_AGENT.length + 1)) : undefined;
        const granted = user === RIG_NATS_USER ? undefined : (node ?? fixed[user]);
        return JSON.stringify({ user, password, ...(granted === undefined ? {} : { permissions: granted }) });
      });
      const callout =
        calloutIssuer === undefined
          ? []
          : [
              `  auth_callout { issuer: ${JSON.stringify(calloutIssuer)}, auth_users: ${JSON.stringify([...passwords.keys()])} }`,
            ];
      return ['authorization {', '  users: [', ...entries.map((entry) => `    ${entry}`), '  ]', ...callout, '}'];
    },
    access(
      user: string,
      servers: readonly string[],
      tls: { natsTlsCa?: string; natsTlsCert?: string; natsTlsKey?: string },
    ): RigNatsAccess {
      const password = passwords.get(user);
      if (password === undefined) {
        const hint = user === NODE_AGENT ? ': a node-agent connects for its node (nodeAgent(node))' : '';
        throw new Error(`the rig's NATS has no user ${user}${hint}; it has ${[...passwords.keys()].join(', ')}`);
      }
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

const NODE_AGENT = 'node-agent';

/** Has `servers` read their configuration again (SIGHUP), and waits until each says it has. */
async function reload(servers: readonly RigProcess[]): Promise<void> {
  const reloads = async (server: RigProcess) =>
    ((await readFile(server.logFile, 'utf8')).match(/Reloaded server configuration/g) ?? []).length;
  await Promise.all(
    servers.map(async (server) => {
      const before = await reloads(server);
      process.kill(server.pid, 'SIGHUP');
      await waitUntil(
        server,
        'its configuration reloaded',
        async () => ((await reloads(server)) > before ? true : undefined),
        10_000,
      );
    }),
  );
}
