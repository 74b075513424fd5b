import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RigError } from './errors.js';
import { makeRigDir, spawnServer, stopAndRemove, tail, waitUntil, type RigProcess } from './process.js';
import { freePort, requireTool, secret } from './tools.js';

/** A private redis-server on a free loopback port, with a password and nothing kept on disk. */
export interface RigRedis {
  readonly host: string;
  readonly port: number;
  readonly password: string;
  readonly env: Record<string, string>;
  readonly process: RigProcess;
  /** `redis-cli` against this Redis, with its password; resolves with what it printed. */
  cli(...args: string[]): Promise<string>;
  /**
   * Stops Redis (SIGKILL with `kill`, as a crash) and starts it again on the same port, empty (it
   * keeps nothing on disk); with `replicaOf`, as a replica of the Redis on that port.
   */
  restart(options?: { kill?: boolean; replicaOf?: number }): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface RedisOptions {
  /** @default a new random one */
  readonly password?: string;
  /** Start as a replica of the Redis on this loopback port (which has the same password). */
  readonly replicaOf?: number;
}

const run = promisify(execFile);

/** `redis-cli` against the Redis (or sentinel) on a loopback `port`; resolves with what it printed. */
export async function redisCli(port: number, password: string, args: readonly string[]): Promise<string> {
  const options = ['-p', String(port), '--no-auth-warning', '-a', password];
  return (await run(requireTool('redis-cli'), [...options, ...args], { timeout: 5000 })).stdout.trim();
}

/** Sends AUTH and PING over a raw connection; resolves true on PONG. */
export function redisPing(port: number, password: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('PONG') || reply.includes('-')) {
        socket.end();
        resolve(reply.includes('+PONG'));
      }
    });
    socket.write(`AUTH ${password}\r\nPING\r\n`);
  });
}

export async function startRedis(options: RedisOptions = {}): Promise<RigRedis> {
  const binary = requireTool('redis-server');
  const dir = makeRigDir('redis');
  const password = options.password ?? secret();
  const config = join(dir, 'redis.conf');
  const launch = async (port: number, replicaOf: number | undefined): Promise<RigProcess> => {
    await writeFile(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'save ""',
        'appendonly no',
        `dir ${dir}`,
        `requirepass ${password}`,
        // A replica authenticates to its primary, and any node may become the primary.
        `masterauth ${password}`,
        // A new replica syncs at once, not after the 5 s Redis waits for others to join it.
        'repl-diskless-sync-delay 0',
        ...(replicaOf === undefined ? [] : [`replicaof 127.0.0.1 ${replicaOf}`]),
        'daemonize no',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const server = spawnServer('redis-server', binary, [config], { dir });
    await waitUntil(
      server,
      'answering PING',
      async () => ((await redisPing(port, password)) ? true : undefined),
      10_000,
    );
    return server;
  };
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let server: RigProcess;
    try {
      server = await launch(port, options.replicaOf);
    } catch (error) {
      // Another process took the port between freePort() and the bind: try another.
      if (attempt < 3 && (await tail(join(dir, 'redis-server.log'))).includes('Address already in use')) continue;
      throw error instanceof RigError ? error : new RigError(String(error), 'RIG_SERVER_DIED');
    }
    const stop = () => stopAndRemove([server], [dir]);
    return {
      host: '127.0.0.1',
      port,
      password,
      env: { BERTH_REDIS_URL: `redis://127.0.0.1:${port}`, BERTH_REDIS_PASSWORD: password },
      get process() {
        return server;
      },
      cli: (...args) => redisCli(port, password, args),
      async restart({ kill = false, replicaOf }: { kill?: boolean; replicaOf?: number } = {}) {
        await server.stop(kill ? 0 : undefined);
        server = await launch(port, replicaOf);
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}
