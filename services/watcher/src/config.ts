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
