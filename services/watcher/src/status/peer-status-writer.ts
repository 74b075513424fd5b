import type { PeerSessionSnapshot } from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import type { KubeApi } from '../kube/api.js';
import { KeyedWorker } from '../keyed-worker.js';
import type { BGPPeerObject } from '../snapshots/objects.js';
import { decidePeerStatus } from './peer-status.js';

const RETRY_MS = 1000;

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
    this.#worker = new KeyedWorker((name) => this.reconcile(name), {
      ...options,
      retryMs: RETRY_MS,
      onError: (name, error) => {
        this.logger.warn({ peer: name, err: error }, 'could not update BGPPeer status; will retry');
        return 'retry';
      },
    });
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
    await this.api.apply(
      `/apis/berth.dev/v1alpha1/bgppeers/${name}/status`,
      {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'BGPPeer',
        metadata: { name, uid: peer.metadata.uid },
        status: { sessions },
      },
      'berth-watcher',
    );
    this.logger.info(
      { peer: name, sessions: sessions.map((s) => `${s.speaker}:${s.state}`) },
      'BGPPeer status written',
    );
  }
}
