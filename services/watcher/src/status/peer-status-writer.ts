import type { PeerSessionSnapshot } from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import type { KubeApi } from '@berth/kube';
import type { KeyedWorker } from '@berth/runtime';
import type { BGPPeerObject } from '../snapshots/objects.js';
import { applyCrdStatus, crdStatusWorker } from './crd-status.js';
import { decidePeerStatus } from './peer-status.js';

/** Keeps each BGPPeer's status listing its sessions as route-publisher's speakers report them. */
export class PeerStatusWriter {
  /** peer → session key → the session. */
  readonly #sessions = new Map<string, Map<string, PeerSessionSnapshot>>();
  readonly #worker: KeyedWorker;

  constructor(
    private readonly api: KubeApi,
    private readonly peers: () => ReadonlyMap<string, BGPPeerObject>,
    private readonly logger: Logger,
    options: { concurrency: number; active: () => boolean },
  ) {
    this.#worker = crdStatusWorker('BGPPeer', logger, (name) => this.reconcile(name), options);
  }

  /** A session changed (or, undefined, went away); its key is `peer/speaker`. */
  session(key: string, session: PeerSessionSnapshot | undefined): void {
    const peer = key.slice(0, key.indexOf('/'));
    let sessions = this.#sessions.get(peer);
    if (session === undefined) sessions?.delete(key);
    else {
      if (sessions === undefined) this.#sessions.set(peer, (sessions = new Map<string, PeerSessionSnapshot>()));
      sessions.set(key, session);
    }
    this.#worker.touch(peer);
  }

  /** Looks at every BGPPeer again (a peer changed, or this replica took the lead). */
  peersChanged(): void {
    this.#worker.touchAll(this.peers().keys());
  }

  stop(): void {
    this.#worker.stop();
  }

  private async reconcile(name: string): Promise<void> {
    const peer = this.peers().get(name);
    if (peer === undefined) return;
    const sessions = decidePeerStatus(peer, this.#sessions.get(name)?.values() ?? []);
    if (sessions === undefined) return;
    await applyCrdStatus(this.api, { kind: 'BGPPeer', plural: 'bgppeers', name, uid: peer.metadata.uid }, { sessions });
    this.logger.info(
      { peer: name, sessions: sessions.map((s) => `${s.speaker}:${s.state}`) },
      'BGPPeer status written',
    );
  }
}
