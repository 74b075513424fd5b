import { setTimeout as sleep } from 'node:timers/promises';
import {
  newEvent,
  type BgpConfigSnapshot,
  type BgpPeerSecretSnapshot,
  type BgpPeerSnapshot,
  type NodeHealthSnapshot,
  type PeerSessionSnapshot,
} from '@berth/contracts';
import { BUS_RETURN_GRACE_MS, servingSnapshots, type Bus } from '@berth/bus';
import type { Logger, Readiness } from '@berth/runtime';
import type { BgpBackend, GlobalSettings, PeerStatus } from './backend/backend.js';
import { desiredPeers, diffPeers, type PeerSpec } from './peers/desired-peers.js';
import { desiredRoutes, nodeAddress, NodeHealth, type DesiredRoute } from '@berth/serving';
import { diffPaths } from './routes/diff.js';

import { pathKey, speakerName, speakerPaths, type PathSpec, type Speaker } from './routes/speaker-paths.js';
import { speakerRoutes, transitions, type Transition } from './routes/transitions.js';
import type { RoutePublisherMetrics } from './metrics.js';

/** Where peer sessions go: the peerSessions bucket. */
export interface SessionSink {
  put(snapshot: PeerSessionSnapshot): Promise<unknown>;
  delete(key: string): Promise<void>;
}

export interface PublisherOptions {
  readonly speaker: Speaker;
  readonly backend: BgpBackend;
  readonly sessions: SessionSink;
  readonly bus: Pick<Bus, 'publishEvent'>;
  readonly logger: Logger;
  readonly readiness: Readiness;
  readonly metrics: RoutePublisherMetrics;
  /** A node whose agent has not said ready for this long serves no route. */
  readonly healthTimeoutMs: number;
  /** Router ID of the central speaker when BGPConfig names none. */
  readonly routerId?: string;
  readonly retryMs?: number;
  /** How often announced-prefix counts are refreshed from the speaker. */
  readonly statusEveryMs?: number;
  /**
   * A new speaker is ready once each of its peers' sessions has been established (so a rollout
   * replaces a speaker only when its successor carries the routes), or after this long at most,
   * so that a router that is down never holds back an install.
   */
  readonly sessionsReadyTimeoutMs: number;
}

/**
 * route-publisher's shell: keeps the bus's inputs, and makes the speaker hold exactly the paths
 * and neighbors they call for. Every pass recomputes the whole desired state and applies only the
 * difference from what the speaker holds. Losing the bus changes nothing (fail static); losing
 * the speaker means reconnecting and reconciling everything.
 */
export class RoutePublisher {
  readonly snapshots = servingSnapshots();
  readonly bgpPeers = new Map<string, BgpPeerSnapshot>();
  /** TCP-MD5 passwords by peer: never logged, never written anywhere but to the speaker. */
  readonly bgpPeerSecrets = new Map<string, BgpPeerSecretSnapshot>();
  #config: BgpConfigSnapshot | undefined;
  /** Judged on the local clock, frozen while the bus is down. */
  readonly #health: NodeHealth;
  #inputsReady = false;

  /** What the speaker holds (paths by key); undefined until read after (re)connecting. */
  #held: Map<string, PathSpec> | undefined;
  /** The routes as last announced, for route events. */
  #announced: Map<string, DesiredRoute> | undefined;
  #peers: readonly PeerSpec[] = [];
  /**
   * The global settings and neighbors last applied on this connection: while they stay the same,
   * a pass (say, for an endpoint change) makes no GetBgp or ListPeer call.
   */
  #applied: string | undefined;
  readonly #sessions = new Map<string, PeerSessionSnapshot>();
  /** Peers whose session has been established since this process started; undefined once ready. */
  #established: Set<string> | undefined = new Set();
  #lastWarning = '';

  #dirty = true;
  #wake: (() => void) | undefined;

  constructor(private readonly options: PublisherOptions) {
    // Judged as of the newest heartbeat from anyone: a bus that carries nobody's freezes the view.
    this.#health = new NodeHealth(options.healthTimeoutMs, {}, BUS_RETURN_GRACE_MS);
    options.readiness.notReady('inputs', 'reading the bus');
    options.readiness.notReady('speaker', 'connecting to the BGP speaker');
    options.readiness.notReady('sessions', 'waiting for the BGP sessions to be established');
  }

  get speakerName(): string {
    return speakerName(this.options.speaker);
  }

  /** An input changed; the next pass picks it up. */
  changed(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  bgpConfig(config: BgpConfigSnapshot | undefined): void {
    this.#config = config;
    this.changed();
  }

  /** A heartbeat from a node-agent; `replayed` ones come from the bus's stored state. */
  heartbeat(node: string, snapshot: NodeHealthSnapshot | undefined, replayed: boolean): void {
    if (this.#health.record(node, snapshot, Date.now(), replayed)) this.changed();
  }

  /** Every bucket has yielded its stored state: passes may now withdraw what is not wanted. */
  inputsInitialized(): void {
    this.#inputsReady = true;
    this.options.readiness.ready('inputs');
    this.changed();
  }

  /** Runs until `signal` aborts: passes when something changed, reconnecting as needed. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger, readiness } = this.options;
    const onAbort = () => this.#wake?.();
    // A function, so the checks after each await are not narrowed away.
    const stopped = () => signal.aborted;
    signal.addEventListener('abort', onAbort, { once: true });
    let peerWatch: AbortController | undefined;
    const sessionsDeadline = setTimeout(() => {
      const established = this.#established;
      if (established === undefined) return;
      const waiting = this.#peers.filter((p) => !established.has(p.name)).map((p) => p.name);
      logger.warn(
        { speaker: this.speakerName, peers: waiting, timeoutMs: this.options.sessionsReadyTimeoutMs },
        'BGP sessions not established in time; ready anyway',
      );
      this.#sessionsReady();
    }, this.options.sessionsReadyTimeoutMs).unref();
    try {
      while (!signal.aborted) {
        if (!this.#dirty) await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        if (stopped()) break;
        this.#dirty = false;
        try {
          if (this.#held === undefined) {
            peerWatch?.abort();
            this.#held = await this.options.backend.listPaths();
            readiness.ready('speaker');
            peerWatch = new AbortController();
            void this.#watchPeers(AbortSignal.any([signal, peerWatch.signal]));
          }
          await this.#pass();
        } catch (error) {
          if (stopped()) break;
          logger.warn({ err: error, speaker: this.speakerName }, 'could not reconcile the BGP speaker; will retry');
          this.options.metrics.failures.inc();
          readiness.notReady('speaker', error instanceof Error ? error.message : String(error));
          this.#forgetSpeaker();
          this.#dirty = true;
          await sleep(this.options.retryMs ?? 1000, undefined, { signal }).catch(() => undefined);
        }
      }
    } finally {
      peerWatch?.abort();
      clearTimeout(sessionsDeadline);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async #pass(): Promise<void> {
    if (!this.#inputsReady || this.#held === undefined) return;
    const { backend, speaker, metrics } = this.options;
    const config = this.#config;
    if (config === undefined) {
      this.#warnOnce('no BGPConfig "default": announcing nothing until there is one');
      this.#sessionsReady();
      return;
    }
    const global = this.#globalSettings(config);
    if (typeof global === 'string') {
      this.#warnOnce(global);
      this.#sessionsReady();
      return;
    }
    const started = performance.now();
    const mine = config.topology === speaker.topology;
    if (!mine)
      this.#warnOnce(`BGPConfig topology is ${config.topology}: this ${speaker.topology} speaker withdraws everything`);
    else this.#lastWarning = '';
    const nodeLabels = speaker.topology === 'per-node' ? this.snapshots.nodes.get(speaker.node)?.labels : undefined;
    const peers = mine ? desiredPeers(this.bgpPeers.values(), this.bgpPeerSecrets, config, speaker, nodeLabels) : [];

    const applied = JSON.stringify({ global, peers });
    if (applied !== this.#applied) {
      const outcome = await backend.ensureGlobal(global);
      if (outcome !== 'unchanged') {
        this.options.logger.info({ speaker: this.speakerName, ...global, outcome }, 'BGP speaker started');
        this.#held = await backend.listPaths();
      }
      await this.#applyPeers(peers);
      this.#applied = applied;
    }

    // Until a heartbeat has arrived nobody can be judged: change no path (a restart keeps what the speaker holds).
    if (mine && !this.#health.started) return;
    const routes = mine
      ? desiredRoutes({ ...this.snapshots, healthy: this.#health.healthy() })
      : new Map<string, DesiredRoute>();
    const view = speakerRoutes(routes.values(), speaker);
    const desired = speakerPaths(view.values(), speaker);
    const held = this.#held;
    const { add, remove } = diffPaths(desired, held);
    await backend.deletePaths(remove);
    for (const path of remove) held.delete(pathKey(path));
    await backend.addPaths(add);
    for (const path of add) held.set(pathKey(path), path);
    metrics.pathUpdates.inc({ op: 'delete' }, remove.length);
    metrics.pathUpdates.inc({ op: 'add' }, add.length);
    metrics.paths.set(held.size);
    metrics.routes.set(view.size);

    // After a restart, routes the speaker already held as wanted were announced earlier.
    this.#announced ??= new Map([...view].filter(([prefix]) => add.every((p) => p.prefix !== prefix)));
    const changes = transitions(this.#announced, view);
    this.#announced = view;
    await Promise.all(changes.map((change) => this.#publish(change)));
    if (add.length + remove.length > 0)
      this.options.logger.info(
        { speaker: this.speakerName, added: add.length, withdrawn: remove.length, routes: view.size },
        'paths updated',
      );
    metrics.passDuration.observe((performance.now() - started) / 1000);
    this.#lastWarning = '';
  }

  #globalSettings(config: BgpConfigSnapshot): GlobalSettings | string {
    const { speaker } = this.options;
    let routerId = config.routerId ?? this.options.routerId;
    if (speaker.topology === 'per-node') {
      const node = this.snapshots.nodes.get(speaker.node);
      routerId = node === undefined ? undefined : nodeAddress(node, 'IPv4');
      if (routerId === undefined)
        return `node ${speaker.node} has no IPv4 address on the bus to use as its BGP router ID`;
    }
    if (routerId === undefined)
      return 'no BGP router ID: set spec.routerID in BGPConfig "default" or BERTH_ROUTER_ID for the central speaker';
    return { asn: config.asn, routerId, listenPort: config.listenPort };
  }

  async #applyPeers(peers: readonly PeerSpec[]): Promise<void> {
    const { backend, logger } = this.options;
    const { add, replace, remove } = diffPeers(peers, await backend.listPeers());
    for (const address of remove) {
      await backend.deletePeer(address);
      logger.info({ speaker: this.speakerName, peerAddress: address }, 'BGP neighbor removed');
    }
    for (const peer of replace) {
      await backend.deletePeer(peer.address);
      await backend.addPeer(peer);
      logger.info({ speaker: this.speakerName, peer: peer.name, peerAddress: peer.address }, 'BGP neighbor changed');
    }
    for (const peer of add) {
      await backend.addPeer(peer);
      logger.info({ speaker: this.speakerName, peer: peer.name, peerAddress: peer.address }, 'BGP neighbor added');
    }
    const gone = this.#peers.filter((p) => !peers.some((q) => q.name === p.name));
    this.#peers = peers;
    this.#checkSessions();
    for (const peer of gone) await this.#forgetSession(peer.name);
    if (add.length + replace.length + remove.length > 0) await this.#refreshStatus();
  }

  /** The speaker's state is unknown (it failed or restarted): read it all again. */
  #forgetSpeaker(): void {
    this.#held = undefined;
    this.#applied = undefined;
  }

  async #publish(change: Transition): Promise<void> {
    const { route } = change;
    const name = change.type;
    try {
      const data = {
        prefix: route.prefix,
        vip: route.vip,
        nextHops: route.nextHops.map((h) => h.address),
        communities: [...route.communities],
        ...(route.localPref === undefined ? {} : { localPref: route.localPref }),
        speaker: this.speakerName,
        service: route.service,
        serviceUid: route.serviceUid,
        pool: route.pool,
      };
      await this.options.bus.publishEvent(
        name,
        newEvent(name, `berth/route-publisher/${this.speakerName}`, route.vip, data),
      );
      this.options.metrics.events.inc({ type: name });
    } catch (error) {
      // Events are for others; a lost one must not hold back the routes.
      this.options.logger.error(
        { err: error, vip: route.vip, service: route.service },
        'could not publish route event',
      );
    }
  }

  async #watchPeers(signal: AbortSignal): Promise<void> {
    const timer = setInterval(() => void this.#refreshStatus(), this.options.statusEveryMs ?? 5000).unref();
    try {
      for await (const status of this.options.backend.watchPeers(signal)) await this.#session(status);
    } catch (error) {
      if (signal.aborted) return;
      this.options.logger.warn({ err: error, speaker: this.speakerName }, 'lost the BGP speaker; reconnecting');
      this.#forgetSpeaker();
      this.changed();
    } finally {
      clearInterval(timer);
    }
  }

  async #refreshStatus(): Promise<void> {
    try {
      for (const status of await this.options.backend.peerStatus()) await this.#session(status);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'could not read peer status');
    }
  }

  /** Puts a neighbor's session on the bus when its state or announced count changed. */
  async #session(status: PeerStatus): Promise<void> {
    const peer = this.#peers.find((p) => p.address === status.address);
    if (peer === undefined) return;
    const key = `${peer.name}/${this.speakerName}`;
    const before = this.#sessions.get(key);
    const prefixesAnnounced = status.state === 'Established' ? status.prefixesAnnounced : 0;
    if (status.state === 'Established' && this.#established !== undefined) {
      this.#established.add(peer.name);
      this.#checkSessions();
    }
    this.options.metrics.sessionUp.set({ peer: peer.name }, status.state === 'Established' ? 1 : 0);
    this.options.metrics.prefixesAnnounced.set({ peer: peer.name }, prefixesAnnounced);
    if (before?.state === status.state && before.prefixesAnnounced === prefixesAnnounced) return;
    if (before?.state !== status.state)
      this.options.logger.info(
        { speaker: this.speakerName, peer: peer.name, state: status.state },
        'BGP session state',
      );
    const snapshot: PeerSessionSnapshot = {
      v: 1,
      key,
      revision: `${status.state}-${prefixesAnnounced}`,
      peer: peer.name,
      speaker: this.speakerName,
      state: status.state,
      since: before?.state === status.state ? before.since : new Date().toISOString(),
      prefixesAnnounced,
    };
    this.#sessions.set(key, snapshot);
    try {
      await this.options.sessions.put(snapshot);
    } catch (error) {
      this.#sessions.delete(key);
      this.options.logger.warn({ err: error, peer: peer.name }, 'could not publish the BGP session state');
    }
  }

  async #forgetSession(name: string): Promise<void> {
    const key = `${name}/${this.speakerName}`;
    this.#sessions.delete(key);
    this.options.metrics.sessionUp.remove({ peer: name });
    this.options.metrics.prefixesAnnounced.remove({ peer: name });
    await this.options.sessions.delete(key);
  }

  /** Ready once every peer's session has been established (no peers: at once). */
  #checkSessions(): void {
    if (this.#peers.every((p) => this.#established?.has(p.name) !== false)) this.#sessionsReady();
  }

  #sessionsReady(): void {
    if (this.#established === undefined) return;
    this.#established = undefined;
    this.options.readiness.ready('sessions');
  }

  #warnOnce(message: string): void {
    if (message === this.#lastWarning) return;
    this.#lastWarning = message;
    this.options.logger.warn({ speaker: this.speakerName }, message);
  }
}
