import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

/** A registry per process with the runtime's default metrics, prefixed `berth_<component>_`. */
export function createMetrics(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, prefix: `berth_${metricName(component)}_` });
  return registry;
}

/**
 * `berth_<component>_ready`: 1 while `/readyz` would answer 200, else 0. Read from `readiness` at
 * each scrape, so it never disagrees with the probe; alerts use it to name an unready component
 * that is still running (a process that is down shows as a failed scrape instead).
 */
export function readinessGauge(registry: Registry, component: string, readiness: Readiness): Gauge {
  return new Gauge({
    name: `berth_${metricName(component)}_ready`,
    help: 'Whether this process is ready (1) or still waits for a dependency (0); /readyz names it',
    registers: [registry],
    collect() {
      this.set(readiness.isReady ? 1 : 0);
    },
  });
}

/** `route-publisher` → `route_publisher`: Prometheus names allow no dashes. */
function metricName(component: string): string {
  return component.replace(/[^a-zA-Z0-9_]/g, '_');
}
