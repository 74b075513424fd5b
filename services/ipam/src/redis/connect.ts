import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, type Logger, type Readiness } from '@berth/runtime';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConfig {
  readonly redisUrl: string;
  readonly redisUsername?: string | undefined;
  readonly redisPassword?: string | undefined;
  readonly redisTlsCa?: string | undefined;
  readonly redisTlsCert?: string | undefined;
  readonly redisTlsKey?: string | undefined;
  readonly redisSentinels: readonly string[];
  readonly redisSentinelMaster: string;
  readonly redisSentinelUsername?: string | undefined;
  readonly redisSentinelPassword?: string | undefined;
}

/** A `redis://` or `rediss://` URL's host, port and whether it asks for TLS. */
function endpoint(text: string, variable: string, defaultPort: number): { host: string; port: number; tls: boolean } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError([`${variable}: ${JSON.stringify(text)} is not a URL: write redis://host:port`]);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ConfigError([`${variable}: ${JSON.stringify(text)} must start with redis:// (or rediss:// for TLS)`]);
  return { host: url.hostname, port: Number(url.port || defaultPort), tls: url.protocol === 'rediss:' };
}

/** What says where Redis is, of ioredis's options. */
type Target = Pick<
  RedisOptions,
  | 'host'
  | 'port'
  | 'tls'
  | 'sentinels'
  | 'name'
  | 'sentinelUsername'
  | 'sentinelPassword'
  | 'enableTLSForSentinelMode'
  | 'sentinelTLS'
  | 'sentinelRetryStrategy'
>;

/** Where to connect: one Redis at its URL, or the primary the sentinels name. */
function where(config: RedisConfig): { options: Target; server: string } {
  const tlsOptions = (): ConnectionOptions => ({
    ...(config.redisTlsCa === undefined ? {} : { ca: readFileSync(config.redisTlsCa) }),
    ...(config.redisTlsCert === undefined ? {} : { cert: readFileSync(config.redisTlsCert) }),
    ...(config.redisTlsKey === undefined ? {} : { key: readFileSync(config.redisTlsKey) }),
  });
  if (config.redisSentinels.length === 0) {
    const { host, port, tls } = endpoint(config.redisUrl, 'BERTH_REDIS_URL', 6379);
    return { options: { host, port, ...(tls ? { tls: tlsOptions() } : {}) }, server: `${host}:${port}` };
  }
  const sentinels = config.redisSentinels.map((s) => endpoint(s, 'BERTH_REDIS_SENTINELS', 26379));
  const tls = sentinels[0]?.tls === true;
  if (sentinels.some((s) => s.tls !== tls))
    throw new ConfigError([
      'BERTH_REDIS_SENTINELS mixes redis:// and rediss://: use rediss:// for all (TLS to the sentinels and Redis) or for none',
    ]);
  return {
    options: {
      sentinels: sentinels.map(({ host, port }) => ({ host, port })),
      name: config.redisSentinelMaster,
      ...(config.redisSentinelUsername === undefined ? {} : { sentinelUsername: config.redisSentinelUsername }),
      ...(config.redisSentinelPassword === undefined ? {} : { sentinelPassword: config.redisSentinelPassword }),
      ...(tls ? { tls: tlsOptions(), enableTLSForSentinelMode: true, sentinelTLS: tlsOptions() } : {}),
      // Sentinels are asked again quickly while they elect a new primary.
      sentinelRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    },
    server: `primary ${config.redisSentinelMaster} of ${config.redisSentinels.join(', ')}`,
  };
}

/**
 * A Redis connection that fails commands at once while Redis is down (ipam then leases nothing
 * rather than queueing guesses), reconnects forever (under Sentinel, to whichever primary the
 * sentinels name), and reports `redis` unready meanwhile.
 */
export function connectRedis(config: RedisConfig, logger: Logger, readiness: Readiness): Redis {
  const { options, server } = where(config);
  readiness.notReady('redis', 'connecting to Redis');
  const redis = new Redis({
    ...options,
    ...(config.redisUsername === undefined ? {} : { username: config.redisUsername }),
    ...(config.redisPassword === undefined ? {} : { password: config.redisPassword }),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Within a second of Redis (or a new primary) being back, so leasing resumes soon after a failover.
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
  });
  redis.on('ready', () => {
    readiness.ready('redis');
    logger.info({ server }, 'connected to Redis');
  });
  redis.on('close', () => readiness.notReady('redis', 'disconnected from Redis'));
  redis.on('error', (error: Error) => logger.warn({ err: error }, 'Redis error'));
  return redis;
}

/** Runs `run` after every reconnection of `redis` (not its first connection), e.g. to re-check what Redis still holds. */
export function onReconnect(redis: Redis, run: () => void): void {
  let connected = redis.status === 'ready';
  redis.on('ready', () => {
    if (connected) run();
    connected = true;
  });
}
