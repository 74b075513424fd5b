import { networkInterfaces } from 'node:os';
import { BucketFollower, Buckets, connectBus, followServing } from '@berth/bus';
import { runService } from '@berth/runtime';
import { NodeAgent } from './agent.js';
import { nodeAgentConfig } from './config.js';
import { startHeartbeat } from './heartbeat.js';
import { candidateInterfaces, openLink } from './layer2/link.js';
import { Responder } from './layer2/responder.js';
import { nodeAgentMetrics } from './metrics.js';

await runService({
  component: 'node-agent',
  config: nodeAgentConfig,
  async start({ config, logger, readiness, registry, signal }) {
    const node = config.nodeName;
    const metrics = nodeAgentMetrics(registry);
    const bus = await connectBus(config, {
      name: `node-agent-${node}`,
      identity: 'node-agent',
      node,
      logger,
      readiness,
      registry,
    });
    const responder = new Responder(metrics, logger);
    const agent = new NodeAgent({ node, responder, bus, logger, metrics, healthTimeoutMs: config.nodeHealthTimeoutMs });
    responder.onClaim((vip, mac, link) => {
      agent.claimed(vip, mac, link);
    });

    const failed = new Map<string, string>();
    const scanLinks = () => {
      const wanted = candidateInterfaces(Object.keys(networkInterfaces()), config.interfaces, config.excludeInterfaces);
      for (const name of responder.links.keys()) if (!wanted.includes(name)) responder.removeLink(name);
      for (const name of wanted) {
        if (responder.links.has(name)) continue;
        try {
          responder.addLink(openLink(name, responder));
          failed.delete(name);
          logger.info({ node, interface: name }, 'raw sockets open');
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (failed.get(name) !== message)
            logger.error({ err: error, node, interface: name }, 'cannot answer on interface');
          failed.set(name, message);
        }
      }
    };
    scanLinks();
    const scan = setInterval(scanLinks, config.interfaceScanMs);

    const inputs = new BucketFollower(bus, signal, () => agent.inputsInitialized());
    const changed = () => agent.changed();
    followServing(inputs, agent.snapshots, changed);
    inputs.followHeartbeats((key, value, replayed) => agent.heartbeat(key, value, replayed));
    const heartbeat = startHeartbeat({
      node,
      bucket: await bus.bucket(Buckets.nodeHealth),
      send: (snapshot) => bus.sendHeartbeat(snapshot),
      links: () => responder.links.values(),
      synced: () => agent.synced,
      intervalMs: config.heartbeatIntervalMs,
      timeoutMs: config.nodeHealthTimeoutMs,
      metrics,
      logger,
      readiness,
    });
    logger.info(
      { node, timeoutMs: config.nodeHealthTimeoutMs, intervalMs: config.heartbeatIntervalMs },
      'node-agent running',
    );
    // Closers run last to first: stop answering, withdraw the heartbeat, then leave the bus.
    return [
      () => bus.close(),
      () => heartbeat.stop(),
      () => {
        clearInterval(scan);
        agent.stop();
        responder.close();
      },
    ];
  },
});
