import { promises as dns } from 'node:dns';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { corednsBinary } from './cache.js';
import { RigError } from './errors.js';
import { killGroup, makeRigDir, spawnServer, stopAndRemove, waitUntil } from './process.js';
import { freePorts } from './tools.js';

/** CoreDNS on loopback answering for a few names, which can go silent like a lost node's DNS. */
export interface RigDns {
  /** `127.0.0.1:<port>`, for `dns.setServers`. */
  readonly server: string;
  /** Stops answering (SIGSTOP): questions go unanswered, as when DNS's pod vanished with its node. */
  silence(): void;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts CoreDNS answering `records` (name → IPv4 address) from its hosts plugin, and nothing else. */
export async function startDns(records: Readonly<Record<string, string>>): Promise<RigDns> {
  const dir = makeRigDir('dns');
  const [port] = await freePorts(1);
  if (port === undefined) throw new RigError('no free port for CoreDNS', 'RIG_BAD_OPTION');
  const hosts = Object.entries(records).map(([name, address]) => `    ${address} ${name}`);
  await writeFile(
    join(dir, 'Corefile'),
    [`.:${port} {`, '  bind 127.0.0.1', '  hosts {', ...hosts, '  }', '}', ''].join('\n'),
  );
  const server = spawnServer('coredns', corednsBinary(), ['-conf', join(dir, 'Corefile')], { dir });
  const stop = async () => {
    // A silenced server must run again to hear SIGTERM.
    killGroup(server.pid, 'SIGCONT');
    await stopAndRemove([server], [dir]);
  };
  const address = `127.0.0.1:${port}`;
  const [first] = Object.keys(records);
  try {
    const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([address]);
    await waitUntil(
      server,
      'answering',
      async () => (first === undefined || (await resolver.resolve4(first)).length > 0 ? true : undefined),
      10_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    server: address,
    silence: () => killGroup(server.pid, 'SIGSTOP'),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
