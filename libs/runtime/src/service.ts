import { createMetrics, readinessGauge } from './metrics.js';
import { ConfigError, env, loadConfig, type ConfigOf, type ConfigSpec } from './config.js';
import { createLogger, LOG_LEVELS, type Logger } from './logger.js';
import { startHealthServer } from './health-server.js';
import { Readiness } from './readiness.js';
import type { Registry } from 'prom-client';

/** Settings every Berth process reads. */
export const baseConfig = {
  logLevel: env.oneOf('BERTH_LOG_LEVEL', LOG_LEVELS, 'info'),
  healthHost: env.string('BERTH_HEALTH_HOST', '0.0.0.0'),
  shutdownTimeoutMs: env.integer('BERTH_SHUTDOWN_TIMEOUT_MS', 100, 600_000, 10_000),
} as const;

/** What a service's start function gets: its parsed config and the process-wide tools. */
export interface ServiceContext<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly readiness: Readiness;
  /** Aborted when shutdown begins, so loops and watches stop taking new work. */
  readonly signal: AbortSignal;
}

/** Undoes one thing `start` did; run in reverse order on shutdown. */
export type Closer = () => Promise<void> | void;

export interface ServiceDefinition<S extends ConfigSpec> {
  readonly component: string;
  /** The component's own settings; must include its health port. */
  readonly config: S & { healthPort: ConfigSpec[string] };
  start(context: ServiceContext<ConfigOf<S> & ConfigOf<typeof baseConfig>>): Promise<Closer[]>;
}

/**
 * The settings `spec` names, or one fatal log line naming every bad variable and what it wants,
 * then exit code 2: a mistake in configuration is told as such, never as a stack trace.
 */
export function loadConfigOrExit<S extends ConfigSpec>(component: string, spec: S): ConfigOf<S> {
  try {
    return loadConfig(spec);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger(component).fatal({ problems: error.problems }, error.message);
    process.exit(2);
  }
}

/**
 * Runs one service: config, logger, metrics and health endpoints, then `start`; on SIGTERM or
 * SIGINT aborts, runs the closers in reverse order within the shutdown timeout, and exits 0
 * (1 when a closer failed or the timeout passed).
 */
export async function runService<S extends ConfigSpec>(definition: ServiceDefinition<S>): Promise<void> {
  const config: ConfigOf<S> & ConfigOf<typeof baseConfig> = loadConfigOrExit(definition.component, {
    ...baseConfig,
    ...definition.config,
  });
  const logger = createLogger(definition.component, config.logLevel);
  const registry = createMetrics(definition.component);
  const readiness = new Readiness();
  readinessGauge(registry, definition.component, readiness);
  const abort = new AbortController();
  readiness.notReady('start', 'starting');
  const health = await startHealthServer({
    host: config.healthHost,
    port: config['healthPort'] as number,
    readiness,
    registry,
  });
  logger.info({ port: health.port }, 'health server listening');

  const closers: Closer[] = [() => health.close()];
  let stopping = false;
  const stop = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    abort.abort();
    readiness.notReady('shutdown', 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    let failed = exitCode !== 0;
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        failed = true;
        logger.error({ err: error }, 'closing failed');
      }
    }
    logger.info('stopped');
    // stdout may be a pipe: flush, or process.exit can drop the last lines.
    await new Promise<void>((resolve) => {
      logger.flush(() => {
        resolve();
      });
    });
    clearTimeout(timer);
    process.exit(failed ? 1 : 0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  try {
    closers.push(...(await definition.start({ config, logger, registry, readiness, signal: abort.signal })));
  } catch (error) {
    logger.fatal({ err: error }, 'start failed');
    await stop('start-failure', 1);
  }
  readiness.ready('start');
  logger.info('started');
}
