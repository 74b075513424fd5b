import { busConfig, nodeHealthConfig } from '@berth/bus';
import { env, LOG_LEVELS } from '@berth/runtime';

/** berth reads the same variables as the services, so one environment serves both. */
export const cliConfig = {
  ...busConfig,
  /** A kubeconfig file, as the watcher reads it; --kubeconfig wins. */
  kubeconfig: env.file('BERTH_KUBECONFIG'),
  /** The class that makes a Service Berth's (the watcher's setting). */
  loadBalancerClass: env.string('BERTH_LOADBALANCER_CLASS', 'berth.dev/lb'),
  /** Berth also serves Services with no class (the watcher's setting). */
  defaultClass: env.boolean('BERTH_DEFAULT_CLASS', false),
  /** The services' setting: judged alike, berth names the next hops and owners they do. */
  ...nodeHealthConfig,
  /** How long berth waits for NATS and for the Kubernetes API before giving up on each. */
  timeoutMs: env.integer('BERTH_CLI_TIMEOUT_MS', 100, 600_000, 5000),
  /** The bus client's own log lines (e.g. a snapshot that breaks its contract), on stderr. */
  logLevel: env.oneOf('BERTH_LOG_LEVEL', LOG_LEVELS, 'warn'),
} as const;
