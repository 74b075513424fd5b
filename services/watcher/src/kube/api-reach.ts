import type { Logger, Readiness } from '@berth/runtime';
import { Gauge, type Registry } from 'prom-client';

/**
 * Whether the watcher reaches the API server, as its leader Lease requests find out every retry
 * period. The watcher stays ready while cut off (it acts on the last state it saw, and a restart
 * would not help), so this is what says it: `/readyz` carries a warning and
 * `berth_watcher_api_server_reachable` is 0, for an alert to fire on.
 */
export class ApiReach {
  #cutOffSince: number | undefined;
  readonly #gauge: Gauge;

  constructor(
    private readonly readiness: Readiness,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.#gauge = new Gauge({
      name: 'berth_watcher_api_server_reachable',
      help: 'Whether the last request to the API server (the leader Lease) was answered (1) or not (0)',
      registers: [registry],
    });
    this.#gauge.set(1);
  }

  reached(): void {
    if (this.#cutOffSince === undefined) return;
    this.logger.info({ cutOffMs: Date.now() - this.#cutOffSince }, 'reached the API server again');
    this.#cutOffSince = undefined;
    this.readiness.clearWarning('kube');
    this.#gauge.set(1);
  }

  failed(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.#cutOffSince ??= Date.now();
    const since = new Date(this.#cutOffSince).toISOString();
    this.readiness.warn(
      'kube',
      `cut off from the API server since ${since} (${reason}); acting on the last state seen`,
    );
    this.#gauge.set(0);
  }
}
