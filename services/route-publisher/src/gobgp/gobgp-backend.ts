import type { IpFamily } from '@berth/contracts';
import type { BgpBackend, GlobalSettings, PeerStatus } from '../backend/backend.js';
import type { HeldPeer, PeerSpec } from '../peers/desired-peers.js';
import { pathKey, type PathSpec } from '../routes/speaker-paths.js';
import { GobgpClient, type Message } from './client.js';
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

  async #global(): Promise<Message> {
    return ((await this.#client.unary('GetBgp', {}))['global'] ?? {}) as Message;
  }

  /** A fresh gobgpd answers most calls with an error until StartBgp: it holds nothing yet. */
  async #started(): Promise<boolean> {
    return Number((await this.#global())['asn'] ?? 0) !== 0;
  }

  async ensureGlobal(global: GlobalSettings): Promise<'started' | 'unchanged' | 'restarted'> {
    const current = await this.#global();
    const asn = Number(current['asn'] ?? 0);
    const request = {
      global: { asn: global.asn, router_id: global.routerId, listen_port: global.listenPort },
    };
    // StartBgp is not idempotent (a second call fails binding the port): only when not running.
    if (asn === 0) {
      await this.#client.unary('StartBgp', request);
      return 'started';
    }
    const port = Number(current['listen_port'] ?? 0);
    if (asn === global.asn && current['router_id'] === global.routerId && port === global.listenPort)
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
      const peer = (message['peer'] ?? {}) as Message;
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
        const destination = (message['destination'] ?? {}) as Message;
        for (const raw of (destination['paths'] as Message[] | undefined) ?? []) {
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
    const batches: Message[] = [];
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
      const event = message['peer'] as Message | undefined;
      const peer = event?.['peer'] as Message | undefined;
      if (peer === undefined || event?.['type'] === 'END_OF_INIT') continue;
      const conf = (peer['conf'] ?? {}) as Message;
      const state = (peer['state'] ?? {}) as Message;
      const address = [conf['neighbor_address'], state['neighbor_address']].find((a) => typeof a === 'string') ?? '';
      if (address !== '') yield { address, state: sessionState(peer), prefixesAnnounced: 0 };
    }
    if (!signal.aborted) throw new Error('GoBGP closed the event stream');
  }

  close(): void {
    this.#client.close();
  }
}

/** Locally originated paths carry no neighbor address (GoBGP prints a nil one as `<nil>`). */
function isLearned(path: Message): boolean {
  const neighbor = path['neighbor_ip'];
  return typeof neighbor === 'string' && neighbor !== '' && neighbor !== '<nil>';
}
