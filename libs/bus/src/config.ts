import { env } from '@berth/runtime';

/** How every Berth process reaches NATS. Credentials and TLS are never hard-coded. */
export const busConfig = {
  natsServers: env.list('BERTH_NATS_SERVERS', ['nats://127.0.0.1:4222']),
  natsUser: env.optionalString('BERTH_NATS_USER'),
  natsPassword: env.optionalString('BERTH_NATS_PASSWORD'),
  natsToken: env.optionalString('BERTH_NATS_TOKEN'),
  /** A token read from this file at each connection (a node-agent's projected ServiceAccount token). */
  natsTokenFile: env.file('BERTH_NATS_TOKEN_FILE'),
  natsCredsFile: env.file('BERTH_NATS_CREDS_FILE'),
  natsTlsCa: env.file('BERTH_NATS_TLS_CA'),
  natsTlsCert: env.file('BERTH_NATS_TLS_CERT'),
  natsTlsKey: env.file('BERTH_NATS_TLS_KEY'),
  /** How many servers of a JetStream cluster keep each of Berth's buckets and its events stream. */
  natsReplicas: env.integer('BERTH_NATS_REPLICAS', 1, 5, 1),
} as const;

/**
 * How long a node-agent's heartbeats may stop before its node is out: one setting, read alike by
 * route-publisher (next hops), every node-agent (layer-2 owners) and `berth`, so all give one answer.
 */
export const nodeHealthConfig = {
  nodeHealthTimeoutMs: env.integer('BERTH_NODE_HEALTH_TIMEOUT_MS', 100, 600_000, 500),
} as const;

export interface BusConfig {
  readonly natsServers: readonly string[];
  readonly natsUser?: string | undefined;
  readonly natsPassword?: string | undefined;
  readonly natsToken?: string | undefined;
  readonly natsTokenFile?: string | undefined;
  readonly natsCredsFile?: string | undefined;
  readonly natsTlsCa?: string | undefined;
  readonly natsTlsCert?: string | undefined;
  readonly natsTlsKey?: string | undefined;
  /** Replicas of every bucket and the events stream (a JetStream cluster); 1 for one server. */
  readonly natsReplicas?: number | undefined;
}
