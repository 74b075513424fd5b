import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Static } from '@sinclair/typebox';
import {
  credsAuthenticator,
  tokenAuthenticator,
  DiscardPolicy,
  Events,
  RetentionPolicy,
  StorageType,
  type ConnectionOptions,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
} from 'nats';
import { EventSchemas, validator, type EventName, type NodeHealthSnapshot, type Validator } from '@berth/contracts';
import { ConfigError, type Logger, type Readiness } from '@berth/runtime';
import { Counter, type Registry } from 'prom-client';
import type { BusConfig } from './config.js';
import { ContractViolationError } from './errors.js';
import { dialNats } from './nats-dial.js';
import { HeartbeatChannel } from './heartbeats.js';
import { eventSubject, inboxPrefix, type BusIdentity } from './permissions.js';
import { Buckets, EventsStream, type BucketSpec } from './topology.js';
import { SnapshotBucketImpl, type Change, type OnRewatch, type SnapshotBucket } from './snapshot-bucket.js';

/** Berth's view of NATS: typed snapshot buckets and CloudEvents, validated both ways. */
export interface Bus {
  /**
   * Opens one snapshot bucket, waiting while it does not exist yet (the watcher creates them all
   * with `ensureTopology`). A read-only bus does not wait: a missing bucket reads as empty.
   */
  bucket<T extends { key: string }>(spec: BucketSpec<T>): Promise<SnapshotBucket<T>>;
  /**
   * Creates every bucket and the events stream, or brings their replicas to the configured count.
   * Only the watcher's identity may: so no other component, a node-agent least of all, can change
   * how long events are kept or how large a bucket may grow.
   */
  ensureTopology(): Promise<void>;
  /** Publishes one CloudEvent to its subject, stored in the events stream (deduplicated by id). */
  publishEvent<N extends EventName>(name: N, event: Static<(typeof EventSchemas)[N]>): Promise<void>;
  /**
   * Sends a node-agent's heartbeat live (core NATS: through any server that is up, at once);
   * nothing while disconnected. Returns whether it went out. Its bucket holds the stored copy.
   */
  sendHeartbeat(snapshot: NodeHealthSnapshot): boolean;
  /** Every node-agent's heartbeats as they arrive, this process's own included, until `signal` aborts. */
  heartbeats(signal: AbortSignal): AsyncIterable<NodeHealthSnapshot>;
  /** Flushes what is pending and closes the connection. */
  close(): Promise<void>;
}

export interface BusOptions {
  /** The client name NATS shows in its monitoring, e.g. `ipam-7d9f`. */
  readonly name: string;
  /** Whose permissions the credentials carry: replies arrive under this identity's own inbox prefix. */
  readonly identity: BusIdentity;
  /** A node-agent's node: the one its credential speaks for, and its events' subjects name. */
  readonly node?: string;
  readonly logger: Logger;
  /** Told `bus` is unready while the connection is down. */
  readonly readiness?: Readiness;
  /** Where `berth_bus_messages_invalid_total` is registered. */
  readonly registry?: Registry;
  /** Told when the connection drops and comes back, e.g. to stop trusting timeouts meanwhile. */
  readonly onConnectionChange?: (connected: boolean) => void;
  /**
   * For a one-off reader such as the `berth` CLI: give up after `connectTimeoutMs` instead of
   * retrying forever, and change nothing on the bus (the events stream is not ensured, and a
   * bucket nobody has written yet reads as empty instead of being created), so pointing it at
   * the wrong server leaves no trace and needs no write permission.
   */
  readonly readOnly?: boolean;
  /** How long a `readOnly` bus waits for NATS. @default 5000 */
  readonly connectTimeoutMs?: number;
}

/**
 * How long a client waits between attempts to reach a NATS server again (nats.js adds up to
 * 100 ms of jitter). Short, so that after a restart every client is back within a few hundred
 * milliseconds of the server rather than seconds apart (nats.js's default is 2 s), and none sees
 * the others' heartbeats missing for longer than the grace `BUS_RETURN_GRACE_MS` allows.
 */
const RECONNECT_WAIT_MS = 250;
const RECONNECT_JITTER_MS = 100;

/**
 * How often a client asks its server for a PONG, and how many may go unanswered before it gives
 * the connection up for another server. A server whose host vanished (power lost, network gone)
 * sends no reset; with nats.js's defaults (2 min, 2) a client would sit on the dead connection for
 * minutes, its heartbeats and writes going nowhere. About 3 s instead.
 */
const PING_INTERVAL_MS = 1000;
const MAX_PINGS_OUT = 3;

/**
 * How long one attempt to reach a server (TCP, TLS, and its answer to CONNECT) may take. A server
 * whose node is gone swallows the SYN; with nats.js's 20 s a client would wait that long before
 * it tries a live one.
 */
const DIAL_TIMEOUT_MS = 3000;

/**
 * After the bus comes back, how much longer than the health timeout a node-agent that was
 * healthy has to be heard again: the spread of the clients' returns, and one heartbeat interval.
 */
export const BUS_RETURN_GRACE_MS = RECONNECT_WAIT_MS + RECONNECT_JITTER_MS + 100;

/**
 * One kind of credential at a time: nats.js would take the last it was given and say nothing of
 * the others, so a leftover password or .creds file would quietly decide who this client is.
 */
function checkCredentials(config: BusConfig): void {
  const given = [
    config.natsPassword === undefined ? undefined : 'BERTH_NATS_PASSWORD',
    config.natsToken === undefined ? undefined : 'BERTH_NATS_TOKEN',
    config.natsTokenFile === undefined ? undefined : 'BERTH_NATS_TOKEN_FILE',
    config.natsCredsFile === undefined ? undefined : 'BERTH_NATS_CREDS_FILE',
  ].filter((name) => name !== undefined);
  if (given.length > 1)
    throw new ConfigError([
      `${given.join(' and ')} are all set: set one (a password with BERTH_NATS_USER, a token, a token file, or a .creds file)`,
    ]);
}

/** Maps Berth's bus settings onto the NATS client's options. */
function natsOptions(
  config: BusConfig,
  { name, identity, node }: BusOptions,
  once: { timeoutMs: number } | undefined,
): ConnectionOptions {
  checkCredentials(config);
  const options: ConnectionOptions = {
    servers: [...config.natsServers],
    name,
    inboxPrefix: inboxPrefix(identity, node),
    ...(once === undefined
      ? {
          maxReconnectAttempts: -1,
          waitOnFirstConnect: true,
          reconnectTimeWait: RECONNECT_WAIT_MS,
          reconnectJitter: RECONNECT_JITTER_MS,
          pingInterval: PING_INTERVAL_MS,
          maxPingOut: MAX_PINGS_OUT,
          timeout: DIAL_TIMEOUT_MS,
          // nats.js gives up for good after the same authorization error twice in a row: right
          // for a wrong password, wrong for a token bus-auth judges, since bus-auth may be
          // unreachable for a moment (its node lost, the API server restarting). Keep trying then.
          ignoreAuthErrorAbort: config.natsTokenFile !== undefined,
        }
      : { maxReconnectAttempts: 0, waitOnFirstConnect: false, timeout: once.timeoutMs }),
  };
  if (config.natsUser !== undefined) options.user = config.natsUser;
  if (config.natsPassword !== undefined) options.pass = config.natsPassword;
  if (config.natsToken !== undefined) options.token = config.natsToken;
  // Read again at each (re)connection: the kubelet replaces a projected token before it expires.
  if (config.natsTokenFile !== undefined) {
    const file = config.natsTokenFile;
    options.authenticator = tokenAuthenticator(() => readFileSync(file, 'utf8').trim());
  }
  if (config.natsCredsFile !== undefined) {
    options.authenticator = credsAuthenticator(readFileSync(config.natsCredsFile));
  }
  if (config.natsTlsCa !== undefined || config.natsTlsCert !== undefined) {
    options.tls = {
      ...(config.natsTlsCa === undefined ? {} : { caFile: config.natsTlsCa }),
      ...(config.natsTlsCert === undefined ? {} : { certFile: config.natsTlsCert }),
      ...(config.natsTlsKey === undefined ? {} : { keyFile: config.natsTlsKey }),
    };
  }
  return options;
}

/**
 * A plain NATS connection with the bus's settings (credentials, TLS, reconnecting forever, unready
 * while disconnected), for a component that needs core NATS alone: bus-auth, which answers the
 * server's auth callout.
 */
export async function connectNats(config: BusConfig, options: BusOptions): Promise<NatsConnection> {
  options.readiness?.notReady('bus', 'connecting to NATS');
  const nc = await dialNats(natsOptions(config, options, undefined));
  options.readiness?.ready('bus');
  options.logger.info({ server: nc.getServer() }, 'connected to NATS');
  void followStatus(nc, options, () => undefined);
  return nc;
}

/**
 * Connects to NATS and keeps reconnecting forever; while disconnected the bus reports itself
 * unready. Resolves once the first connection is made.
 */
export async function connectBus(config: BusConfig, options: BusOptions): Promise<Bus> {
  const { logger, readiness } = options;
  readiness?.notReady('bus', 'connecting to NATS');
  const once = options.readOnly === true ? { timeoutMs: options.connectTimeoutMs ?? 5000 } : undefined;
  const nc = await dialNats(natsOptions(config, options, once));
  readiness?.ready('bus');
  logger.info({ server: nc.getServer() }, 'connected to NATS');
  const invalid = new Counter({
    name: 'berth_bus_messages_invalid_total',
    help: 'Messages dropped because they broke their contract, by bucket or subject',
    labelNames: ['source'],
    registers: options.registry === undefined ? [] : [options.registry],
  });
  const countInvalid = (source: string) => invalid.inc({ source });
  const heartbeats = new HeartbeatChannel(nc, logger, countInvalid);
  const rewatches = new Set<() => void>();
  void followStatus(
    nc,
    {
      ...options,
      onConnectionChange: (connected) => {
        heartbeats.connected(connected);
        options.onConnectionChange?.(connected);
      },
    },
    () => {
      for (const listener of rewatches) listener();
    },
  );

  const js = nc.jetstream();
  const readOnly = options.readOnly === true;
  const replicas = config.natsReplicas ?? 1;
  const onRewatch: OnRewatch = (listener) => {
    rewatches.add(listener);
    return () => rewatches.delete(listener);
  };
  return new BusImpl(nc, js, logger, countInvalid, readOnly, onRewatch, replicas, heartbeats, options.node);
}

async function followStatus(nc: NatsConnection, options: BusOptions, rewatch: () => void): Promise<void> {
  const { logger, readiness, onConnectionChange } = options;
  for await (const status of nc.status()) {
    if (status.type === Events.Disconnect) {
      onConnectionChange?.(false);
      readiness?.notReady('bus', 'disconnected from NATS');
      logger.warn({ server: status.data }, 'disconnected from NATS');
    } else if (status.type === Events.Reconnect) {
      onConnectionChange?.(true);
      readiness?.ready('bus');
      logger.info({ server: status.data }, 'reconnected to NATS');
      rewatch();
    } else if (status.type === Events.Update && isServerLoss(status.data)) {
      logger.warn({ servers: status.data.deleted }, 'a NATS server left the cluster: watching again');
      rewatch();
    } else if (status.type === Events.Error) {
      logger.error({ err: status.data }, 'NATS error');
    }
  }
}

/** How long setting up a stream or bucket is retried while JetStream is not answering yet. */
const SETTLE_MS = 60_000;

/**
 * Runs `setup` again while JetStream times out or says it is unavailable: a cluster that has just
 * formed, or lost a server, answers only once its streams have leaders (seconds, when several
 * clients create replicated streams at once), and a stream another client has just created may
 * not be found for a moment. Other errors, and the last one, are thrown.
 */
async function whileJetStreamSettles<T>(logger: Logger, what: string, setup: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    try {
      return await setup();
    } catch (error) {
      const settling =
        error instanceof Error &&
        /TIMEOUT|503|temporarily unavailable|no responders|stream not found/i.test(
          `${error.message} ${String((error as { code?: unknown }).code)}`,
        );
      if (!settling || Date.now() > deadline) throw error;
      logger.info({ err: error, what }, 'JetStream is not answering yet; trying again');
      await sleep(250);
    }
  }
}

/** A cluster update that says servers went away (nats.js: `{ added, deleted }`). */
function isServerLoss(data: unknown): data is { deleted: string[] } {
  if (typeof data !== 'object' || data === null || !('deleted' in data)) return false;
  return Array.isArray(data.deleted) && data.deleted.length > 0;
}

/** How often a component looks again for a bucket the watcher has not created yet. */
const BUCKET_POLL_MS = 500;

async function ensureEventsStream(jsm: JetStreamManager, replicas: number): Promise<void> {
  const config = {
    num_replicas: replicas,
    name: EventsStream.name,
    subjects: [...EventsStream.subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: EventsStream.maxAgeMs * 1_000_000,
    duplicate_window: EventsStream.duplicateWindowMs * 1_000_000,
  };
  try {
    await jsm.streams.info(EventsStream.name);
    await jsm.streams.update(EventsStream.name, config);
  } catch {
    await jsm.streams.add(config);
  }
}

class BusImpl implements Bus {
  readonly #eventValidators = new Map<EventName, Validator<unknown>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly logger: Logger,
    private readonly countInvalid: (source: string) => void,
    private readonly readOnly: boolean,
    private readonly onRewatch: OnRewatch,
    private readonly replicas: number,
    private readonly heartbeatChannel: HeartbeatChannel,
    private readonly node: string | undefined,
  ) {}

  sendHeartbeat(snapshot: NodeHealthSnapshot): boolean {
    if (this.readOnly) throw new Error('a read-only bus sends nothing, heartbeats included');
    return this.heartbeatChannel.send(snapshot);
  }

  heartbeats(signal: AbortSignal): AsyncIterable<NodeHealthSnapshot> {
    return this.heartbeatChannel.receive(signal);
  }

  async bucket<T extends { key: string }>(spec: BucketSpec<T>): Promise<SnapshotBucket<T>> {
    const kv = this.readOnly ? await this.#bindExisting(spec.name) : await this.#bindWhenCreated(spec.name);
    if (kv === undefined) return new AbsentBucket(spec.name);
    const check = validator(spec.schema);
    return new SnapshotBucketImpl(kv, spec.name, check, this.logger, this.countInvalid, this.onRewatch);
  }

  async ensureTopology(): Promise<void> {
    if (this.readOnly) throw new Error('a read-only bus creates nothing');
    const jsm = await this.nc.jetstreamManager();
    await whileJetStreamSettles(this.logger, 'the events stream', () => ensureEventsStream(jsm, this.replicas));
    for (const spec of Object.values(Buckets)) {
      await whileJetStreamSettles(this.logger, spec.name, () => this.#create(jsm, spec));
    }
  }

  /** Creates a bucket when missing, with the configured replicas (raised on one made smaller). */
  async #create(jsm: JetStreamManager, spec: BucketSpec<{ key: string }>): Promise<void> {
    const ttl = spec.ttlMs === undefined ? {} : { ttl: spec.ttlMs };
    const kv = await this.js.views.kv(spec.name, { history: 1, replicas: this.replicas, ...ttl });
    if ((await kv.status()).replicas !== this.replicas) {
      const { config } = await jsm.streams.info(`KV_${spec.name}`);
      await jsm.streams.update(config.name, { ...config, num_replicas: this.replicas });
      this.logger.info({ bucket: spec.name, replicas: this.replicas }, 'bucket replicas changed');
    }
  }

  /** Binds to a bucket, waiting (and saying so once) while the watcher has not created it. */
  async #bindWhenCreated(name: string): Promise<KV> {
    let told = false;
    for (;;) {
      const kv = await whileJetStreamSettles(this.logger, name, () => this.#bindExisting(name));
      if (kv !== undefined) return kv;
      if (!told) this.logger.info({ bucket: name }, 'waiting for the bucket: the watcher creates it');
      told = true;
      await sleep(BUCKET_POLL_MS);
    }
  }

  async #bindExisting(name: string): Promise<KV | undefined> {
    const jsm = await this.nc.jetstreamManager();
    try {
      const { config } = await jsm.streams.info(`KV_${name}`);
      return await this.js.views.kv(name, { bindOnly: true, allow_direct: config.allow_direct });
    } catch (error) {
      if (error instanceof Error && error.message === 'stream not found') return undefined;
      throw error;
    }
  }

  async publishEvent<N extends EventName>(name: N, event: Static<(typeof EventSchemas)[N]>): Promise<void> {
    let check = this.#eventValidators.get(name);
    if (check === undefined) {
      check = validator(EventSchemas[name]);
      this.#eventValidators.set(name, check);
    }
    const result = check.check(event);
    if (!result.ok) throw new ContractViolationError(check.schemaId, result.problems);
    // Until the watcher has made the events stream, nobody answers: that passes like a settling cluster.
    const subject = eventSubject(name, this.node);
    await whileJetStreamSettles(this.logger, EventsStream.name, () =>
      this.js.publish(subject, JSON.stringify(event), { msgID: event.id }),
    );
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain();
  }
}

/** A bucket a read-only bus found missing: nobody has written it, so it holds nothing. */
class AbsentBucket<T extends { key: string }> implements SnapshotBucket<T> {
  constructor(readonly name: string) {}

  put(): Promise<number> {
    return Promise.reject(this.#refusal());
  }

  delete(): Promise<void> {
    return Promise.reject(this.#refusal());
  }

  #refusal(): Error {
    return new Error(`bucket ${this.name} does not exist, and a read-only bus creates nothing`);
  }

  get(): Promise<T | undefined> {
    return Promise.resolve(undefined);
  }

  current(): Promise<Map<string, T>> {
    return Promise.resolve(new Map<string, T>());
  }

  /** Says at once that there is nothing, then ends: no writer exists to follow. */
  // eslint-disable-next-line @typescript-eslint/require-await -- nothing to wait for
  async *watch(): AsyncIterable<Change<T>> {
    yield { type: 'initialized' };
  }
}

/**
 * Connects as the watcher, makes every bucket and the events stream, and goes: for a test (or a
 * tool) that runs components before, or without, a watcher.
 */
export async function createTopology(config: BusConfig, logger: Logger): Promise<void> {
  const bus = await connectBus(config, { name: 'topology', identity: 'watcher', logger });
  try {
    await bus.ensureTopology();
  } finally {
    await bus.close();
  }
}
