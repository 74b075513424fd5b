import { collectDefaultMetrics, Registry } from 'prom-client';

/** A registry per process with the runtime's default metrics, prefixed `berth_<component>_`. */
export function createMetrics(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, prefix: `berth_${metricName(component)}_` });
  return registry;
}

/** `route-publisher` → `route_publisher`: Prometheus names allow no dashes. */
function metricName(component: string): string {
  return component.replace(/[^a-zA-Z0-9_]/g, '_');
}
