import { BucketFollower, Buckets, connectBus, followServing, into } from '@berth/bus';
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
    const bus = await connectBus(config, {
      name: `route-publisher-${config.nodeName ?? config.speakerName}`,
      identity: 'route-publisher',
      logger,
      readiness,
      registry,
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
      sessionsReadyTimeoutMs: config.sessionsReadyTimeoutMs,
      ...(config.routerId === undefined ? {} : { routerId: config.routerId }),
    });

    const inputs = new BucketFollower(bus, signal, () => shell.inputsInitialized());
    const changed = () => shell.changed();
    followServing(inputs, shell.snapshots, changed);
    inputs.follow(Buckets.bgpPeers, into(shell.bgpPeers, changed));
    inputs.follow(Buckets.bgpPeerSecrets, into(shell.bgpPeerSecrets, changed));
    inputs.follow(Buckets.bgpConfig, (_key, value) => shell.bgpConfig(value));
    inputs.followHeartbeats((key, value, replayed) => shell.heartbeat(key, value, replayed));
    const running = shell.run(signal);
    logger.info(
      { speaker: shell.speakerName, topology: speaker.topology, target: config.gobgpTarget },
      'driving BGP speaker',
    );
    return [
      () => bus.close(),
      async () => {
        await Promise.allSettled([inputs.done(), running]);
        backend.close();
      },
    ];
  },
});
