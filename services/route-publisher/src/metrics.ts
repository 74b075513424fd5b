import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RoutePublisherMetrics = ReturnType<typeof routePublisherMetrics>;

export function routePublisherMetrics(registry: Registry) {
  const registers = [registry];
  return {
    sessionUp: new Gauge({
      name: 'berth_route_publisher_session_up',
      help: 'Whether the BGP session with a peer is established (1) or not (0)',
      labelNames: ['peer'],
      registers,
    }),
    prefixesAnnounced: new Gauge({
      name: 'berth_route_publisher_prefixes_announced',
      help: 'Prefixes the speaker has sent to a peer',
      labelNames: ['peer'],
      registers,
    }),
    paths: new Gauge({ name: 'berth_route_publisher_paths', help: 'Paths the speaker holds', registers }),
    routes: new Gauge({ name: 'berth_route_publisher_routes', help: 'VIP routes this speaker announces', registers }),
    pathUpdates: new Counter({
      name: 'berth_route_publisher_path_updates_total',
      help: 'Paths added (or replaced) and withdrawn on the speaker',
      labelNames: ['op'],
      registers,
    }),
    events: new Counter({
      name: 'berth_route_publisher_events_published_total',
      help: 'Route events published, by type',
      labelNames: ['type'],
      registers,
    }),
    failures: new Counter({
      name: 'berth_route_publisher_reconcile_failures_total',
      help: 'Passes that failed talking to the speaker (each is followed by a full resync)',
      registers,
    }),
    passDuration: new Histogram({
      name: 'berth_route_publisher_reconcile_duration_seconds',
      help: 'Time to compute the desired routes and apply the difference to the speaker',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}
