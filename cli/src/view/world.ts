import type {
  BgpConfigSnapshot,
  BgpPeerSnapshot,
  NamespaceSnapshot,
  NodeHealthSnapshot,
  PeerSessionSnapshot,
} from '@berth/contracts';
import type { ServingInputs } from '@berth/serving';

/** Every snapshot bucket on the bus, read once, keyed as on the bus: what the deciders read, and more. */
export interface BusWorld extends ServingInputs {
  readonly namespaces: ReadonlyMap<string, NamespaceSnapshot>;
  readonly bgpPeers: ReadonlyMap<string, BgpPeerSnapshot>;
  /** The BGPConfig `default`, when there is one. */
  readonly bgpConfig: BgpConfigSnapshot | undefined;
  readonly nodeHealth: ReadonlyMap<string, NodeHealthSnapshot>;
  readonly peerSessions: ReadonlyMap<string, PeerSessionSnapshot>;
}

/** A status condition as Kubernetes writes it. */
export interface ClusterCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** One Event about a Service. */
export interface ClusterEvent {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  /** RFC 3339, when known. */
  readonly at: string | undefined;
}

/** What only the cluster knows about one Service. */
export interface ClusterService {
  /** `spec.type`, e.g. `LoadBalancer` or `ClusterIP`. */
  readonly type: string;
  readonly loadBalancerClass: string | undefined;
  /** It has a deletionTimestamp. */
  readonly deleting: boolean;
  /** The addresses in `status.loadBalancer.ingress`. */
  readonly ingress: readonly string[];
  /** Berth's `berth.dev/AddressAssigned` condition, when written. */
  readonly addressAssigned: ClusterCondition | undefined;
  /** Newest first. */
  readonly events: readonly ClusterEvent[];
}

/** What berth learnt from the cluster, or why it has nothing from it. */
export type ClusterView =
  | { readonly reachable: false; readonly why: string }
  | {
      readonly reachable: true;
      /** IPPool status conditions by pool name. */
      readonly poolConditions: ReadonlyMap<string, readonly ClusterCondition[]>;
      /** The Service asked about: null when it does not exist, undefined when none was asked about. */
      readonly service?: ClusterService | null;
    };

/** The settings that change a verdict, read by the shell from the same environment as the services. */
export interface ViewSettings {
  /** Milliseconds since the epoch: when the bus was read. */
  readonly now: number;
  /** A node-agent heartbeat older than this counts as none (route-publisher's setting). */
  readonly healthTimeoutMs: number;
  /** The `spec.loadBalancerClass` that makes a Service Berth's. */
  readonly loadBalancerClass: string;
  /** Berth also serves Services with no class. */
  readonly defaultClass: boolean;
}
