import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RigError } from './errors.js';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';
import { redisCli, startRedis, type RigRedis } from './redis.js';
import { freePorts, requireTool, secret } from './tools.js';

/** The name the sentinels monitor the primary under, as Berth's BERTH_REDIS_SENTINEL_MASTER defaults to. */
const MASTER = 'berth';
/** How long a primary may be silent before a sentinel calls it down: a failover takes about twice this. */
const DOWN_AFTER_MS = 1000;

/** Redis with replication and Sentinel on loopback: a primary, its replicas and three sentinels. */
export interface RigRedisSentinel {
  /** Every Redis node's password; the sentinels have their own. */
  readonly password: string;
  readonly sentinelPassword: string;
  /** The data nodes; the first started as the primary. */
  readonly nodes: readonly RigRedis[];
  readonly sentinelPorts: readonly number[];
  /** The settings ipam reads to find the primary through the sentinels. */
  readonly env: Record<string, string>;
  /** The port of the primary, as the sentinels name it. */
  primary(): Promise<number>;
  /**
   * SIGKILLs the primary, waits until every sentinel names another, and starts the old one again
   * as a replica of the new one, as a restarted pod would be. Resolves with the old and new ports.
   */
  failover(): Promise<{ from: number; to: number }>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a primary with `replicas` replicas (default 2) and three sentinels with quorum two. */
export async function startRedisSentinel({ replicas = 2 }: { replicas?: number } = {}): Promise<RigRedisSentinel> {
  const binary = requireTool('redis-server');
  const dir = makeRigDir('redis-sentinel');
  const password = secret();
  const sentinelPassword = secret();
  const nodes: RigRedis[] = [];
  const sentinels: RigProcess[] = [];
  const stop = async () => {
    await stopAndRemove(sentinels, [dir]);
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    const primary = await startRedis({ password });
    nodes.push(primary);
    nodes.push(
      ...(await Promise.all(Array.from({ length: replicas }, () => startRedis({ password, replicaOf: primary.port })))),
    );
    const synced = async (node: RigRedis) =>
      /master_link_status:up/.test(await node.cli('INFO', 'replication')) ? true : undefined;
    await Promise.all(nodes.slice(1).map((n) => waitUntil(n.process, 'replicating', () => synced(n), 20_000)));

    const ports = await freePorts(3);
    for (const [i, port] of ports.entries()) {
      const config = join(dir, `sentinel-${i}.conf`);
      // A sentinel rewrites its own file as it learns the others and the replicas.
      await writeFile(
        config,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          'daemonize no',
          `requirepass ${sentinelPassword}`,
          `sentinel sentinel-pass ${sentinelPassword}`,
          `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 2`,
          `sentinel auth-pass ${MASTER} ${password}`,
          `sentinel down-after-milliseconds ${MASTER} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${MASTER} 5000`,
          `sentinel parallel-syncs ${MASTER} ${replicas}`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      sentinels.push(spawnServer(`sentinel-${i}`, binary, [config, '--sentinel'], { dir }));
    }
    // A failover needs the sentinels to know each other (they meet through the primary) and the replicas.
    await Promise.all(
      sentinels.map((s, i) =>
        waitUntil(
          s,
          'knowing the other sentinels and every replica',
          async () => {
            const info = await redisCli(ports[i] ?? 0, sentinelPassword, ['SENTINEL', 'master', MASTER]);
            const field = (name: string) => new RegExp(`^${name}\\n(\\d+)$`, 'm').exec(info)?.[1];
            return field('num-other-sentinels') === '2' && field('num-slaves') === String(replicas) ? true : undefined;
          },
          20_000,
        ),
      ),
    );

    const primaryPort = async (): Promise<number> => {
      const named = await Promise.all(
        ports.map((p) => redisCli(p, sentinelPassword, ['SENTINEL', 'get-master-addr-by-name', MASTER])),
      );
      const agreed = new Set(named.map((n) => Number(n.split('\n')[1])));
      if (agreed.size !== 1)
        throw new RigError(`the sentinels disagree on the primary: ${named.join(' / ')}`, 'RIG_BAD_STATE');
      return [...agreed][0] ?? 0;
    };
    return {
      password,
      sentinelPassword,
      nodes,
      sentinelPorts: ports,
      env: {
        BERTH_REDIS_SENTINELS: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
        BERTH_REDIS_SENTINEL_MASTER: MASTER,
        BERTH_REDIS_SENTINEL_PASSWORD: sentinelPassword,
        BERTH_REDIS_PASSWORD: password,
        BERTH_REDIS_MIN_REPLICAS: '1',
      },
      primary: primaryPort,
      async failover() {
        const from = await primaryPort();
        const old = nodes.find((n) => n.port === from);
        if (old === undefined) throw new RigError(`no node of the rig listens on ${from}`, 'RIG_BAD_STATE');
        await old.process.stop(0);
        const deadline = Date.now() + 30_000;
        for (;;) {
          const to = await primaryPort().catch(() => from);
          if (to !== from) {
            await old.restart({ replicaOf: to });
            return { from, to };
          }
          if (Date.now() > deadline)
            throw new RigError(`the sentinels named no new primary within 30 s of ${from} dying`, 'RIG_SERVER_TIMEOUT');
          await sleep(100);
        }
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
