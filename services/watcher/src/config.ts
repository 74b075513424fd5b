import { hostname } from 'node:os';
import { busConfig } from '@berth/bus';
import { env } from '@berth/runtime';

/** What the watcher and its release command (run when Berth is uninstalled) both read. */
export const clusterConfig = {
  /** A kubeconfig file; unset means the in-cluster service account. */
  kubeconfig: env.file('BERTH_KUBECONFIG'),
  /** The namespace Berth runs in: its Lease and BGP password Secrets live there. */
  namespace: env.string('BERTH_NAMESPACE', 'berth-system'),
  loadBalancerClass: env.string('BERTH_LOADBALANCER_CLASS', 'berth.dev/lb'),
  /** Also serve Services with no loadBalancerClass (Berth is the cluster's default). */
  defaultClass: env.boolean('BERTH_DEFAULT_CLASS', false),
  leaseName: env.string('BERTH_LEASE_NAME', 'berth-watcher'),
} as const;

export const watcherConfig = {
  healthPort: env.port('BERTH_HEALTH_PORT', 9101),
  ...busConfig,
  ...clusterConfig,
  /** How often every snapshot is written again, so consumers converge after a lost message. */
  resyncSeconds: env.integer('BERTH_RESYNC_SECONDS', 10, 86_400, 300),
  publishConcurrency: env.integer('BERTH_PUBLISH_CONCURRENCY', 1, 4096, 256),
  /** This replica's name in the leader Lease (the pod name in Kubernetes). */
  identity: env.string('BERTH_POD_NAME', `${hostname()}-${process.pid}`),
  /** A standby takes over this long after the leader's last renewal. */
  leaseDurationMs: env.integer('BERTH_LEASE_DURATION_MS', 2000, 300_000, 8000),
  renewDeadlineMs: env.integer('BERTH_LEASE_RENEW_DEADLINE_MS', 1000, 300_000, 6000),
  leaseRetryMs: env.integer('BERTH_LEASE_RETRY_MS', 200, 60_000, 2000),
} as const;

/** bus-auth: answers NATS's auth callout for node-agents, from the API server's word on their tokens. */
export const busAuthConfig = {
  healthPort: env.port('BERTH_HEALTH_PORT', 9105),
  ...busConfig,
  kubeconfig: env.file('BERTH_KUBECONFIG'),
  namespace: env.string('BERTH_NAMESPACE', 'berth-system'),
  /** Whose projected tokens speak for their pod's node. */
  nodeAgentServiceAccount: env.string('BERTH_NODE_AGENT_SERVICE_ACCOUNT', 'berth-node-agent'),
  /** The audience of those tokens: Berth's NATS, and nothing else accepts them. */
  audience: env.string('BERTH_BUS_AUTH_AUDIENCE', 'berth-nats'),
  /** The account key that signs the users it vouches for: an NKey seed, or 32 bytes in base64. */
  issuerFile: env.string('BERTH_BUS_AUTH_ISSUER_FILE'),
  /**
   * How long a node-agent stays let in before it must show a token again (at most its token's own
   * life): how soon a deleted pod's or a revoked token's connection is cut.
   */
  userTtlSeconds: env.integer('BERTH_BUS_AUTH_USER_TTL_SECONDS', 5, 86_400, 3600),
} as const;
