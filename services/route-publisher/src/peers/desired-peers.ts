import {
  matchesSelector,
  type BgpConfigSnapshot,
  type BgpPeerSecretSnapshot,
  type BgpPeerSnapshot,
  type IpFamily,
} from '@berth/contracts';
import type { Speaker } from '../routes/speaker-paths.js';

/** One BGP neighbor as a speaker must configure it. */
export interface PeerSpec {
  /** The BGPPeer's name (not sent to the daemon; names the session on the bus). */
  readonly name: string;
  readonly address: string;
  readonly peerAsn: number;
  readonly localAsn: number;
  readonly port: number;
  readonly holdTimeSeconds: number;
  readonly keepaliveTimeSeconds: number;
  readonly password?: string;
  readonly ebgpMultihop?: number;
  readonly families: readonly IpFamily[];
  /** ADD-PATH send: one path per next hop (central topology, peer allows it). */
  readonly addPathSend: boolean;
  readonly gracefulRestart: boolean;
}

/**
 * The neighbors `speaker` must have: every BGPPeer for the central speaker; for a node's speaker,
 * the BGPPeers whose `nodeSelector` matches its node's labels. A peer signed with TCP-MD5 waits
 * for its password (a session without it would only be refused).
 */
export function desiredPeers(
  peers: Iterable<BgpPeerSnapshot>,
  secrets: ReadonlyMap<string, BgpPeerSecretSnapshot>,
  config: BgpConfigSnapshot,
  speaker: Speaker,
  nodeLabels: Readonly<Record<string, string>> | undefined,
): PeerSpec[] {
  const specs: PeerSpec[] = [];
  const taken = new Set<string>();
  // Two BGPPeers for one address: the first by name wins, so every speaker picks the same one.
  for (const peer of [...peers].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    if (taken.has(peer.peerAddress)) continue;
    if (
      speaker.topology === 'per-node' &&
      (nodeLabels === undefined || !matchesSelector(peer.nodeSelector, nodeLabels))
    )
      continue;
    taken.add(peer.peerAddress);
    const password = peer.tcpMd5 ? secrets.get(peer.key)?.password : undefined;
    if (peer.tcpMd5 && password === undefined) continue;
    specs.push({
      name: peer.key,
      address: peer.peerAddress,
      peerAsn: peer.peerASN,
      localAsn: peer.myASN,
      port: peer.port,
      holdTimeSeconds: peer.holdTimeSeconds,
      keepaliveTimeSeconds: peer.keepaliveTimeSeconds,
      ...(password === undefined ? {} : { password }),
      ...(peer.ebgpMultihop === undefined ? {} : { ebgpMultihop: peer.ebgpMultihop }),
      families: [...peer.families].sort(),
      addPathSend: speaker.topology === 'central' && peer.addPath,
      gracefulRestart: config.gracefulRestart,
    });
  }
  return specs;
}

/** The part of a peer the daemon holds; a difference here means the session must be redone. */
export type HeldPeer = Omit<PeerSpec, 'name'>;

export interface PeerDiff {
  readonly add: PeerSpec[];
  /** Changed: deleted and added again (only these sessions reset). */
  readonly replace: PeerSpec[];
  /** Addresses of neighbors no BGPPeer asks for. */
  readonly remove: string[];
}

const samePeer = (a: HeldPeer, b: HeldPeer): boolean =>
  a.address === b.address &&
  a.peerAsn === b.peerAsn &&
  a.localAsn === b.localAsn &&
  a.port === b.port &&
  a.holdTimeSeconds === b.holdTimeSeconds &&
  a.keepaliveTimeSeconds === b.keepaliveTimeSeconds &&
  (a.password ?? '') === (b.password ?? '') &&
  (a.ebgpMultihop ?? 0) === (b.ebgpMultihop ?? 0) &&
  a.families.join() === b.families.join() &&
  a.addPathSend === b.addPathSend &&
  a.gracefulRestart === b.gracefulRestart;

export function diffPeers(desired: readonly PeerSpec[], held: readonly HeldPeer[]): PeerDiff {
  const heldBy = new Map(held.map((p) => [p.address, p]));
  const wanted = new Set(desired.map((p) => p.address));
  const add: PeerSpec[] = [];
  const replace: PeerSpec[] = [];
  for (const peer of desired) {
    const current = heldBy.get(peer.address);
    if (current === undefined) add.push(peer);
    else if (!samePeer(current, peer)) replace.push(peer);
  }
  return { add, replace, remove: held.filter((p) => !wanted.has(p.address)).map((p) => p.address) };
}
