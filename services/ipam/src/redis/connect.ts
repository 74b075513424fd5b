import { readFileSync } from 'node:fs';
import type { Logger, Readiness } from '@berth/runtime';
import { Redis } from 'ioredis';

export interface RedisConfig {
  readonly redisUrl: string;
  readonly redisUsername?: string | undefined;
  readonly redisPassword?: string | undefined;
  readonly redisTlsCa?: string | undefined;
  readonly redisTlsCert?: string | undefined;
  readonly redisTlsKey?: string | undefined;
}

/**
 * A Redis connection that fails commands at once while Redis is down (ipam then leases nothing
 * rather than queueing guesses), reconnects forever, and reports `redis` unready meanwhile.
 */
export function connectRedis(config: RedisConfig, logger: Logger, readiness: Readiness): Redis {
  const url = new URL(config.redisUrl);
  const tls = url.protocol === 'rediss:';
  readiness.notReady('redis', 'connecting to Redis');
  const redis = new Redis({
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(config.redisUsername === undefined ? {} : { username: config.redisUsername }),
    ...(config.redisPassword === undefined ? {} : { password: config.redisPassword }),
    ...(tls
      ? {
          tls: {
            ...(config.redisTlsCa === undefined ? {} : { ca: readFileSync(config.redisTlsCa) }),
            ...(config.redisTlsCert === undefined ? {} : { cert: readFileSync(config.redisTlsCert) }),
            ...(config.redisTlsKey === undefined ? {} : { key: readFileSync(config.redisTlsKey) }),
          },
        }
      : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 5000),
  });
  redis.on('ready', () => {
    readiness.ready('redis');
    logger.info({ server: `${url.hostname}:${url.port}` }, 'connected to Redis');
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
