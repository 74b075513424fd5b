import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';
import { requireTool, secret } from './tools.js';

/** A private nats-server with JetStream, on a free loopback port, with its own credentials. */
export interface RigNats {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** The settings a Berth process reads to reach this server. */
  readonly env: Record<string, string>;
  readonly process: RigProcess;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startNats(): Promise<RigNats> {
  const binary = requireTool('nats-server');
  const dir = makeRigDir('nats');
  const user = 'berth';
  const password = secret();
  const config = join(dir, 'nats.conf');
  await writeFile(
    config,
    [
      'listen: "127.0.0.1:-1"',
      `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
      `authorization { user: ${JSON.stringify(user)}, password: ${JSON.stringify(password)} }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const server = spawnServer('nats-server', binary, ['-c', config, '--ports_file_dir', dir], { dir });
  // nats-server picks its own port and writes it to a ports file: no race for a free port.
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
  const stop = () => stopAndRemove([server], [dir]);
  return {
    url,
    user,
    password,
    env: { BERTH_NATS_SERVERS: url, BERTH_NATS_USER: user, BERTH_NATS_PASSWORD: password },
    process: server,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
