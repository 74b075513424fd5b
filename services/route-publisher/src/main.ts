import { Buckets, connectBus, type BucketSpec } from '@berth/bus';
import { runService } from '@berth/runtime';
import { routePublisherConfig } from './config.js';
import { GobgpBackend } from './gobgp/gobgp-backend.js';
import { routePublisherMetrics } from './metrics.js';
import { RoutePublisher } from './publisher.js';
import type { Speaker } from './routes/speaker-paths.js';

await runService({
  component: 'route-publisher',
  config: routePublisherConfig,
  async start({ config, logger, readiness, registry, signal }) {
    const speaker: Speaker =
      config.nodeName === undefined
        ? { topology: 'central', name: config.speakerName }
        : { topology: 'per-node', node: config.nodeName };
    const backend = new GobgpBackend(config.gobgpTarget, config.gobgpProtoDir);
    // Set once the shell exists; the bus reports its connection from the start.
    let onConnection: (connected: boolean) => void = () => undefined;
    const bus = await connectBus(config, {
      name: `route-publisher-${config.nodeName ?? config.speakerName}`,
      logger,
      readiness,
      registry,
      onConnectionChange: (connected) => {
        onConnection(connected);
      },
    });
    const shell = new RoutePublisher({
      speaker,
      backend,
      sessions: await bus.bucket(Buckets.peerSessions),
      bus,
      logger,
      readiness,
      metrics: routePublisherMetrics(registry),
      healthTimeoutMs: config.nodeHealthTimeoutMs,
      ...(config.routerId === undefined ? {} : { routerId: config.routerId }),
    });
    onConnection = (connected) => {
      shell.busConnection(connected);
    };

    const pending = new Set<string>();
    const follow = async <T extends { key: string }>(
      spec: BucketSpec<T>,
      apply: (key: string, value: T | undefined, replayed: boolean) => void,
    ) => {
      pending.add(spec.name);
      const bucket = await bus.bucket(spec);
      let replayed = true;
      for await (const change of bucket.watch(signal)) {
        if (change.type === 'initialized') {
          replayed = false;
          pending.delete(spec.name);
          if (pending.size === 0) shell.inputsInitialized();
        } else apply(change.key, change.type === 'put' ? change.value : undefined, replayed);
      }
    };
    const into =
      <T extends { key: string }>(map: Map<string, T>) =>
      (key: string, value: T | undefined) => {
        if (value === undefined) map.delete(key);
        else map.set(key, value);
        shell.changed();
      };
    const follows = [
      follow(Buckets.allocations, into(shell.allocations)),
      follow(Buckets.services, into(shell.services)),
      follow(Buckets.endpoints, into(shell.endpoints)),
      follow(Buckets.nodes, into(shell.nodes)),
      follow(Buckets.pools, into(shell.pools)),
      follow(Buckets.bgpPeers, into(shell.bgpPeers)),
      follow(Buckets.bgpConfig, (_key, value) => shell.bgpConfig(value)),
      follow(Buckets.nodeHealth, (key, value, replayed) => shell.heartbeat(key, value, replayed)),
    ];
    const running = shell.run(signal);
    logger.info(
      { speaker: shell.speakerName, topology: speaker.topology, target: config.gobgpTarget },
      'driving BGP speaker',
    );
    return [
      () => bus.close(),
      async () => {
        await Promise.allSettled([...follows, running]);
        backend.close();
      },
    ];
  },
});
