import { hostname } from 'node:os';
import { Buckets, connectBus, type BucketSpec, type Bus, type BusConfig } from '@berth/bus';
import type { Logger } from '@berth/runtime';
import type { BusWorld } from '../view/world.js';

/** The bus could not be read; the message says where berth looked and what to set. */
export class BusUnreadableError extends Error {
  override readonly name = 'BusUnreadableError';
  readonly code = 'BERTH_CLI_BUS_UNREADABLE';
}

async function readAll(bus: Bus): Promise<BusWorld> {
  const read = async <T extends { key: string }>(spec: BucketSpec<T>) => (await bus.bucket(spec)).current();
  const [services, endpoints, nodes, namespaces, pools, bgpPeers, bgpConfig, allocations, nodeHealth, peerSessions] =
    await Promise.all([
      read(Buckets.services),
      read(Buckets.endpoints),
      read(Buckets.nodes),
      read(Buckets.namespaces),
      read(Buckets.pools),
      read(Buckets.bgpPeers),
      read(Buckets.bgpConfig),
      read(Buckets.allocations),
      read(Buckets.nodeHealth),
      read(Buckets.peerSessions),
    ]);
  return {
    services,
    endpoints,
    nodes,
    namespaces,
    pools,
    bgpPeers,
    bgpConfig: bgpConfig.get('default'),
    allocations,
    nodeHealth,
    peerSessions,
  };
}

/**
 * Every snapshot bucket as it stands now, read without changing anything on the bus. Fails
 * within `timeoutMs` rather than hanging when NATS is away or slow.
 */
export async function readBus(config: BusConfig, options: { timeoutMs: number; logger: Logger }): Promise<BusWorld> {
  const where = config.natsServers.join(', ');
  let bus: Bus;
  try {
    bus = await connectBus(config, {
      name: `berth-cli-${hostname()}`,
      identity: 'cli',
      logger: options.logger,
      readOnly: true,
      connectTimeoutMs: options.timeoutMs,
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new BusUnreadableError(
      `cannot reach NATS at ${where}: ${why} (set BERTH_NATS_SERVERS and BERTH_NATS_USER/BERTH_NATS_PASSWORD, BERTH_NATS_TOKEN or BERTH_NATS_CREDS_FILE as for the services)`,
      { cause: error },
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new BusUnreadableError(`reading the snapshot buckets from NATS at ${where} took over ${options.timeoutMs} ms`),
      );
    }, options.timeoutMs);
  });
  try {
    return await Promise.race([readAll(bus), deadline]);
  } catch (error) {
    if (error instanceof BusUnreadableError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new BusUnreadableError(`cannot read Berth's snapshot buckets from NATS at ${where}: ${why}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    void bus.close().catch(() => undefined);
  }
}
