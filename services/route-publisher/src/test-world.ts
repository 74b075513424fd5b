import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buckets, type Bus, type SnapshotBucket } from '@berth/bus';
import type {
  AllocationSnapshot,
  BgpConfigSnapshot,
  BgpPeerSnapshot,
  EndpointsSnapshot,
  NodeHealthSnapshot,
  NodeSnapshot,
  PoolSnapshot,
  ServiceSnapshot,
} from '@berth/contracts';
import {
  exampleAllocation,
  exampleBgpConfig,
  exampleBgpPeer,
  exampleNode,
  examplePool,
  exampleService,
} from '@berth/contracts/examples';

export const ROUTE_PUBLISHER_MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

/**
 * Writes route-publisher's inputs to the real bus, as the watcher, ipam and node-agents do, for
 * tests and benches that exercise route-publisher alone.
 */
export class BgpWorld {
  private constructor(
    readonly services: SnapshotBucket<ServiceSnapshot>,
    readonly allocations: SnapshotBucket<AllocationSnapshot>,
    readonly endpoints: SnapshotBucket<EndpointsSnapshot>,
    readonly nodes: SnapshotBucket<NodeSnapshot>,
    readonly pools: SnapshotBucket<PoolSnapshot>,
    readonly peers: SnapshotBucket<BgpPeerSnapshot>,
    readonly config: SnapshotBucket<BgpConfigSnapshot>,
    readonly health: SnapshotBucket<NodeHealthSnapshot>,
    private readonly bus: Pick<Bus, 'sendHeartbeat'>,
  ) {}

  static async open(bus: Bus): Promise<BgpWorld> {
    return new BgpWorld(
      await bus.bucket(Buckets.services),
      await bus.bucket(Buckets.allocations),
      await bus.bucket(Buckets.endpoints),
      await bus.bucket(Buckets.nodes),
      await bus.bucket(Buckets.pools),
      await bus.bucket(Buckets.bgpPeers),
      await bus.bucket(Buckets.bgpConfig),
      await bus.bucket(Buckets.nodeHealth),
      bus,
    );
  }

  bgpConfig(overrides: Partial<BgpConfigSnapshot> = {}): Promise<number> {
    return this.config.put(exampleBgpConfig({ revision: String(Date.now()), routerId: '192.0.2.1', ...overrides }));
  }

  /** The BGP pool `public`. */
  pool(addresses: string[], overrides: Partial<PoolSnapshot> = {}): Promise<number> {
    return this.pools.put(examplePool('public', addresses, overrides));
  }

  peer(name: string, address: string, overrides: Partial<BgpPeerSnapshot> = {}): Promise<number> {
    return this.peers.put(exampleBgpPeer(name, address, { revision: String(Date.now()), ...overrides }));
  }

  /** A Ready node with the given addresses and a heartbeat saying it is healthy. */
  async node(name: string, addresses: string[], ready = true): Promise<void> {
    await this.nodes.put(exampleNode(name, addresses));
    await this.heartbeat(name, ready);
  }

  /** A heartbeat as a node-agent sends it: live, and stored in its bucket. */
  heartbeat(name: string, ready = true): Promise<number> {
    const snapshot = {
      v: 1 as const,
      key: name,
      revision: String(Date.now()),
      at: Date.now(),
      ready,
      interfaces: ['eth0'],
    };
    this.bus.sendHeartbeat(snapshot);
    return this.health.put(snapshot);
  }

  /** A Service `shop/<name>` with a BGP-mode allocation of `addresses` from pool `public`. */
  async service(
    name: string,
    addresses: string[],
    overrides: Partial<ServiceSnapshot> = {},
  ): Promise<{ key: string; uid: string }> {
    const svc = exampleService(0, 'shop', { key: `shop/${name}`, name, uid: `uid-${name}`, ...overrides });
    await this.services.put(svc);
    await this.allocations.put(exampleAllocation(svc.key, svc.uid, 'public', addresses));
    return { key: svc.key, uid: svc.uid };
  }

  readyEndpoints(name: string, readyByNode: Record<string, number>): Promise<number> {
    return this.endpoints.put({ v: 1, key: `shop/${name}`, revision: String(Date.now()), readyByNode });
  }

  /** The Service and its allocation gone, as after the watcher and ipam saw it deleted. */
  async deleteService(name: string): Promise<void> {
    await this.allocations.delete(`shop/${name}`);
    await this.services.delete(`shop/${name}`);
  }
}
