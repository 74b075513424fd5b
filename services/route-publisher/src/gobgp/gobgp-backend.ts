import type { IpFamily } from '@berth/contracts';
import type { BgpBackend, GlobalSettings, PeerStatus } from '../backend/backend.js';
import type { HeldPeer, PeerSpec } from '../peers/desired-peers.js';
import { pathKey, type PathSpec } from '../routes/speaker-paths.js';
import { GobgpClient, type Request } from './client.js';
import type { Reply } from './reply.js';
import {
  advertisedPrefixes,
  familyMessage,
  heldPeer,
  pathFromMessage,
  pathMessage,
  peerMessage,
  sessionState,
} from './messages.js';

const FAMILIES: readonly IpFamily[] = ['IPv4', 'IPv6'];
/** Paths per AddPathStream message, and DeletePath calls in flight. */
const BATCH = 500;
const DELETES_IN_FLIGHT = 64;

/** `BgpBackend` on gobgpd's gRPC API. */
export class GobgpBackend implements BgpBackend {
  readonly #client: GobgpClient;

  constructor(target: string, protoDir?: string) {
    this.#client = new GobgpClient(target, protoDir);
  }

  async #global(): Promise<Reply> {
    return (await this.#client.unary('GetBgp', {})).get('global');
  }

  /** A fresh gobgpd answers most calls with an error until StartBgp: it holds nothing yet. */
  async #started(): Promise<boolean> {
    return ((await this.#global()).number('asn') ?? 0) !== 0;
  }

  async ensureGlobal(global: GlobalSettings): Promise<'started' | 'unchanged' | 'restarted'> {
    const current = await this.#global();
    const asn = current.number('asn') ?? 0;
    const request = {
      global: { asn: global.asn, router_id: global.routerId, listen_port: global.listenPort },
    };
    // StartBgp is not idempotent (a second call fails binding the port): only when not running.
    if (asn === 0) {
      await this.#client.unary('StartBgp', request);
      return 'started';
    }
    const port = current.number('listen_port') ?? 0;
    if (asn === global.asn && current.text('router_id') === global.routerId && port === global.listenPort)
      return 'unchanged';
    await this.#client.unary('StopBgp', {});
    await this.#client.unary('StartBgp', request);
    return 'restarted';
  }

  async listPeers(): Promise<HeldPeer[]> {
    const peers: HeldPeer[] = [];
    if (!(await this.#started())) return peers;
    for await (const message of this.#client.stream('ListPeer', {})) peers.push(heldPeer(message));
    return peers;
  }

  async addPeer(peer: PeerSpec): Promise<void> {
    await this.#client.unary('AddPeer', { peer: peerMessage(peer) });
  }

  async deletePeer(address: string): Promise<void> {
    await this.#client.unary('DeletePeer', { address });
  }

  async peerStatus(): Promise<PeerStatus[]> {
    const status: PeerStatus[] = [];
    if (!(await this.#started())) return status;
    for await (const message of this.#client.stream('ListPeer', { enableAdvertised: true })) {
      const peer = message.get('peer');
      status.push({
        address: heldPeer(message).address,
        state: sessionState(peer),
        prefixesAnnounced: advertisedPrefixes(peer),
      });
    }
    return status;
  }

  async listPaths(): Promise<Map<string, PathSpec>> {
    const paths = new Map<string, PathSpec>();
    if (!(await this.#started())) return paths;
    for (const family of FAMILIES) {
      const request = { table_type: 'GLOBAL', family: familyMessage(family) };
      for await (const message of this.#client.stream('ListPath', request)) {
        for (const raw of message.get('destination').list('paths')) {
          // Routes learned from neighbors are not ours to keep or withdraw.
          if (isLearned(raw)) continue;
          const path = pathFromMessage(raw, family);
          if (path !== undefined) paths.set(pathKey(path), path);
        }
      }
    }
    return paths;
  }

  async addPaths(paths: readonly PathSpec[]): Promise<void> {
    if (paths.length === 0) return;
    const batches: Request[] = [];
    for (let i = 0; i < paths.length; i += BATCH)
      batches.push({ table_type: 'GLOBAL', paths: paths.slice(i, i + BATCH).map(pathMessage) });
    await this.#client.clientStream('AddPathStream', batches);
  }

  async deletePaths(paths: readonly PathSpec[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < paths.length) {
        const path = paths[next++];
        // Always with the path: a DeletePath without one withdraws every route.
        if (path !== undefined)
          await this.#client.unary('DeletePath', {
            table_type: 'GLOBAL',
            family: familyMessage(path.family),
            path: pathMessage(path),
          });
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT, paths.length) }, worker));
  }

  async *watchPeers(signal: AbortSignal): AsyncIterable<PeerStatus> {
    for await (const message of this.#client.stream('WatchEvent', { peer: {} }, signal)) {
      const event = message.get('peer');
      const peer = event.get('peer');
      if (event.text('type') === 'END_OF_INIT') continue;
      const address = peer.get('conf').text('neighbor_address') ?? peer.get('state').text('neighbor_address') ?? '';
      if (address !== '') yield { address, state: sessionState(peer), prefixesAnnounced: 0 };
    }
    if (!signal.aborted) throw new Error('GoBGP closed the event stream');
  }

  close(): void {
    this.#client.close();
  }
}

/** Locally originated paths carry no neighbor address (GoBGP prints a nil one as `<nil>`). */
function isLearned(path: Reply): boolean {
  const neighbor = path.text('neighbor_ip');
  return neighbor !== undefined && neighbor !== '' && neighbor !== '<nil>';
}
