import type { HeldPeer, PeerSpec } from '../peers/desired-peers.js';
import type { PathSpec } from '../routes/speaker-paths.js';

/** The speaker's global settings: started once, restarted only when these change. */
export interface GlobalSettings {
  readonly asn: number;
  readonly routerId: string;
  /** -1: no listener (the speaker only dials out). */
  readonly listenPort: number;
}

export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Unknown';

export interface PeerStatus {
  readonly address: string;
  readonly state: SessionState;
  /** Prefixes sent to this neighbor (0 unless established). */
  readonly prefixesAnnounced: number;
}

/**
 * What route-publisher needs from a BGP speaker. GoBGP is the first implementation; another
 * daemon can replace it by implementing this.
 */
export interface BgpBackend {
  /** Starts the speaker with `global`, or restarts it when it runs with other settings. */
  ensureGlobal(global: GlobalSettings): Promise<'started' | 'unchanged' | 'restarted'>;
  listPeers(): Promise<HeldPeer[]>;
  addPeer(peer: PeerSpec): Promise<void>;
  deletePeer(address: string): Promise<void>;
  peerStatus(): Promise<PeerStatus[]>;
  /** Every path this speaker originated, keyed by `pathKey`. */
  listPaths(): Promise<Map<string, PathSpec>>;
  /** Adds or replaces the paths (same prefix and identifier), in batches. */
  addPaths(paths: readonly PathSpec[]): Promise<void>;
  /** Withdraws exactly these paths. */
  deletePaths(paths: readonly PathSpec[]): Promise<void>;
  /**
   * Yields a peer's status whenever its session changes state, until `signal` aborts; throws when
   * the connection to the speaker breaks (the caller reconnects and reconciles everything).
   */
  watchPeers(signal: AbortSignal): AsyncIterable<PeerStatus>;
  close(): void;
}
