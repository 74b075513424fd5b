import type {
  BgpConfigSnapshot,
  BgpPeerSecretSnapshot,
  BgpPeerSnapshot,
  EndpointsSnapshot,
  NamespaceSnapshot,
  NodeSnapshot,
  PoolSnapshot,
  ServiceSnapshot,
} from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import { objectKey } from '../kube/list-watch.js';
import { bgpConfigSnapshot, bgpPeerSnapshot, poolSnapshot } from '../snapshots/berth-objects.js';
import { overlapRefusals } from '../status/pool-overlaps.js';
import { endpointsSnapshot, sliceServiceKey } from '../snapshots/endpoints.js';
import { namespaceSnapshot, nodeSnapshot } from '../snapshots/node.js';
import { CLEANUP_FINALIZER, type ClassPolicy, type KubeObject } from '@berth/kube';
import type {
  BGPConfigObject,
  BGPPeerObject,
  EndpointSliceObject,
  IPPoolObject,
  NodeObject,
  SecretObject,
  ServiceObject,
} from '../snapshots/objects.js';
import { serviceSnapshot } from '../snapshots/service.js';

/** What the status writers are told as the cluster changes. */
export interface ClusterNotifications {
  /** A Service of interest (Berth's, or carrying Berth's finalizer) changed. */
  serviceChanged(key: string): void;
  /** An IPPool was added, changed or removed. */
  poolsChanged(): void;
  /** A BGPPeer was added, changed or removed. */
  peersChanged(): void;
}

/** A Service the status writer may have to act on, and whether it is Berth's. */
/**
 * The objects whose status the watcher writes, kept up to date by `ClusterState` and read by the
 * status writers: made first, so the writers exist before the state that tells them of changes.
 */
export interface StatusObjects {
  /** Berth's Services and any that still carry Berth's finalizer. */
  readonly services: Map<string, ServiceEntry>;
  /** Every IPPool, by name. */
  readonly pools: Map<string, IPPoolObject>;
  /** Every BGPPeer, by name. */
  readonly peers: Map<string, BGPPeerObject>;
}

export const statusObjects = (): StatusObjects => ({ services: new Map(), pools: new Map(), peers: new Map() });

export interface ServiceEntry {
  object: ServiceObject;
  ours: boolean;
}

/** Where desired snapshots go: one keyed writer per bucket (an Outbox in production). */
export interface SnapshotTargets {
  services: Target<ServiceSnapshot>;
  endpoints: Target<EndpointsSnapshot>;
  nodes: Target<NodeSnapshot>;
  namespaces: Target<NamespaceSnapshot>;
  pools: Target<PoolSnapshot>;
  bgpPeers: Target<BgpPeerSnapshot>;
  bgpPeerSecrets: Target<BgpPeerSecretSnapshot>;
  bgpConfig: Target<BgpConfigSnapshot>;
}
export interface Target<T> {
  set(key: string, snapshot: T | undefined): void;
}

/**
 * The watcher's view of the cluster, turned into desired snapshots as objects change. Endpoints
 * are published only for Berth's Services; a BGPPeer waits for its password Secret.
 */
export class ClusterState {
  readonly #ours = new Set<string>();
  readonly #services: Map<string, ServiceEntry>;
  readonly #pools: Map<string, IPPoolObject>;
  readonly #slices = new Map<string, Map<string, EndpointSliceObject>>();
  readonly #peers: Map<string, BGPPeerObject>;
  readonly #secrets = new Map<string, SecretObject>();
  #config: BGPConfigObject | undefined;

  constructor(
    private readonly targets: SnapshotTargets,
    private readonly policy: ClassPolicy,
    private readonly logger: Logger,
    objects: StatusObjects = statusObjects(),
    private readonly notify: ClusterNotifications = {
      serviceChanged: () => undefined,
      poolsChanged: () => undefined,
      peersChanged: () => undefined,
    },
  ) {
    this.#services = objects.services;
    this.#pools = objects.pools;
    this.#peers = objects.peers;
  }

  service(object: ServiceObject): void {
    const key = objectKey(object);
    const snapshot = serviceSnapshot(object, this.policy);
    const ours = snapshot !== undefined;
    if (ours || object.metadata.finalizers?.includes(CLEANUP_FINALIZER) === true) {
      this.#services.set(key, { object, ours });
      this.notify.serviceChanged(key);
    } else {
      this.#services.delete(key);
    }
    if (!ours) {
      if (this.#ours.has(key)) this.unpublishService(key);
      return;
    }
    this.#ours.add(key);
    this.targets.services.set(key, snapshot);
    this.publishEndpoints(key);
  }

  serviceGone(object: ServiceObject): void {
    const key = objectKey(object);
    this.#services.delete(key);
    this.unpublishService(key);
  }

  private unpublishService(key: string): void {
    this.#ours.delete(key);
    this.targets.services.set(key, undefined);
    this.targets.endpoints.set(key, undefined);
  }

  slice(object: EndpointSliceObject): void {
    const service = sliceServiceKey(object);
    if (service === undefined) return;
    let slices = this.#slices.get(service);
    if (slices === undefined) this.#slices.set(service, (slices = new Map<string, EndpointSliceObject>()));
    slices.set(object.metadata.name, object);
    this.publishEndpoints(service);
  }

  sliceGone(object: EndpointSliceObject): void {
    const service = sliceServiceKey(object);
    if (service === undefined) return;
    const slices = this.#slices.get(service);
    slices?.delete(object.metadata.name);
    if (slices?.size === 0) this.#slices.delete(service);
    this.publishEndpoints(service);
  }

  node(object: NodeObject): void {
    this.targets.nodes.set(object.metadata.name, nodeSnapshot(object));
  }

  nodeGone(object: NodeObject): void {
    this.targets.nodes.set(object.metadata.name, undefined);
  }

  namespace(object: KubeObject): void {
    this.targets.namespaces.set(object.metadata.name, namespaceSnapshot(object));
  }

  namespaceGone(object: KubeObject): void {
    this.targets.namespaces.set(object.metadata.name, undefined);
  }

  pool(object: IPPoolObject): void {
    this.#pools.set(object.metadata.name, object);
    this.publishPools();
  }

  poolGone(object: IPPoolObject): void {
    this.#pools.delete(object.metadata.name);
    this.targets.pools.set(object.metadata.name, undefined);
    this.publishPools();
  }

  /** Every pool again: one pool's change can refuse or free another (overlaps). Unchanged ones are not rewritten. */
  private publishPools(): void {
    const refusals = overlapRefusals(this.#pools.values());
    for (const [name, pool] of this.#pools) this.targets.pools.set(name, poolSnapshot(pool, refusals.get(name)));
    this.notify.poolsChanged();
  }

  peer(object: BGPPeerObject): void {
    this.#peers.set(object.metadata.name, object);
    this.publishPeer(object);
    this.notify.peersChanged();
  }

  peerGone(object: BGPPeerObject): void {
    this.#peers.delete(object.metadata.name);
    this.targets.bgpPeers.set(object.metadata.name, undefined);
    this.targets.bgpPeerSecrets.set(object.metadata.name, undefined);
    this.notify.peersChanged();
  }

  secret(object: SecretObject): void {
    this.#secrets.set(object.metadata.name, object);
    this.publishAllPeers();
  }

  secretGone(object: SecretObject): void {
    this.#secrets.delete(object.metadata.name);
    this.publishAllPeers();
  }

  config(object: BGPConfigObject): void {
    if (object.metadata.name !== 'default') return;
    this.#config = object;
    this.targets.bgpConfig.set('default', bgpConfigSnapshot(object));
    this.publishAllPeers();
  }

  configGone(object: BGPConfigObject): void {
    if (object.metadata.name !== 'default') return;
    this.#config = undefined;
    this.targets.bgpConfig.set('default', undefined);
    this.publishAllPeers();
  }

  private publishEndpoints(service: string): void {
    if (!this.#ours.has(service)) return;
    this.targets.endpoints.set(service, endpointsSnapshot(service, [...(this.#slices.get(service)?.values() ?? [])]));
  }

  private publishAllPeers(): void {
    for (const peer of this.#peers.values()) this.publishPeer(peer);
  }

  private publishPeer(peer: BGPPeerObject): void {
    const result = bgpPeerSnapshot(peer, this.#secrets, this.#config?.spec.asn);
    const name = peer.metadata.name;
    if (result.ok) {
      this.targets.bgpPeerSecrets.set(name, result.secret);
      this.targets.bgpPeers.set(name, result.snapshot);
    } else {
      // Never announce to a peer with half its settings (say, without its password).
      this.logger.warn({ peer: name, problem: result.problem }, 'BGPPeer not published');
      this.targets.bgpPeers.set(name, undefined);
      this.targets.bgpPeerSecrets.set(name, undefined);
    }
  }
}
