import { busConfig } from '@berth/bus';
import { env } from '@berth/runtime';

export const ipamConfig = {
  healthPort: env.port('BERTH_HEALTH_PORT', 9102),
  ...busConfig,
  /** `redis://host:port` or, for TLS, `rediss://host:port`; unused with Sentinel. */
  redisUrl: env.string('BERTH_REDIS_URL', 'redis://127.0.0.1:6379'),
  redisUsername: env.optionalString('BERTH_REDIS_USERNAME'),
  redisPassword: env.optionalString('BERTH_REDIS_PASSWORD'),
  redisTlsCa: env.file('BERTH_REDIS_TLS_CA'),
  redisTlsCert: env.file('BERTH_REDIS_TLS_CERT'),
  redisTlsKey: env.file('BERTH_REDIS_TLS_KEY'),
  /** Sentinels as `redis://host:port` (or `rediss://` for TLS to them and to Redis); set, they name the primary. */
  redisSentinels: env.list('BERTH_REDIS_SENTINELS', []),
  redisSentinelMaster: env.string('BERTH_REDIS_SENTINEL_MASTER', 'berth'),
  redisSentinelUsername: env.optionalString('BERTH_REDIS_SENTINEL_USERNAME'),
  redisSentinelPassword: env.optionalString('BERTH_REDIS_SENTINEL_PASSWORD'),
  /** Replicas that must confirm a lease (WAIT) before it is published; 1 or more with Sentinel. */
  redisMinReplicas: env.integer('BERTH_REDIS_MIN_REPLICAS', 0, 10, 0),
  redisReplicaTimeoutMs: env.integer('BERTH_REDIS_REPLICA_TIMEOUT_MS', 10, 60_000, 1000),
  /** Every key ipam writes starts with this; ipam owns everything under it. */
  redisPrefix: env.string('BERTH_REDIS_PREFIX', 'berth:ipam:v1:'),
  /** How often ipam checks that Redis still holds its leases (FLUSHALL, a new empty primary). */
  intactCheckMs: env.integer('BERTH_REDIS_INTACT_CHECK_MS', 100, 600_000, 1000),
} as const;
