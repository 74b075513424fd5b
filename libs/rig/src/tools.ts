import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RigError } from './errors.js';

/** The repository's root, from this file's place in `libs/rig/dist`. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Each server binary the rig runs, and the Debian package that provides it. */
const DEBIAN_PACKAGES = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  gobgpd: 'gobgpd',
  gobgp: 'gobgpd',
  etcd: 'etcd-server',
  bird: 'bird2',
  birdc: 'bird2',
  ip: 'iproute2',
  arping: 'iputils-arping',
  ndisc6: 'ndisc6',
  tcpdump: 'tcpdump',
  openssl: 'openssl',
  dockerd: 'docker.io',
  getcap: 'libcap2-bin',
  containerd: 'containerd',
  ctr: 'containerd',
  curl: 'curl',
} as const;

const SEARCH_PATH = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin'];

/** The absolute path of a tool the rig needs, or an error that says how to install it. */
export function requireTool(name: keyof typeof DEBIAN_PACKAGES): string {
  for (const dir of SEARCH_PATH) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Try the next folder.
    }
  }
  throw new RigError(
    `${name} is not installed: run ./scripts/setup as root, or apt-get install ${DEBIAN_PACKAGES[name]}`,
    'RIG_MISSING_TOOL',
  );
}

/** A TCP port on `host` that was free a moment ago. Callers retry if they lose the race. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A random secret for a rig server's password or token. */
export function secret(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

/** `count` distinct free ports on `host`: all are held at once while they are picked. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
