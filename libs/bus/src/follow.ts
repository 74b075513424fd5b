import type { NodeHealthSnapshot } from '@berth/contracts';
import type { ServingInputs } from '@berth/serving';
import type { Bus } from './bus.js';
import { Buckets, type BucketSpec } from './topology.js';

/**
 * Called for each change; `replayed` is true for what was read from the bucket's stored state (at
 * the start, or after the connection came back) rather than seen as it happened.
 */
export type Apply<T> = (key: string, value: T | undefined, replayed: boolean) => void;

/**
 * Follows several snapshot buckets at once, and says when every one of them has yielded its
 * stored state, so a service acts only on a whole view, never on half of one.
 */
export class BucketFollower {
  readonly #pending = new Set<string>();
  readonly #running: Promise<void>[] = [];

  constructor(
    private readonly bus: Pick<Bus, 'bucket' | 'heartbeats'>,
    private readonly signal: AbortSignal,
    private readonly onInitialized: () => void,
  ) {}

  follow<T extends { key: string }>(spec: BucketSpec<T>, apply: Apply<T>): void {
    this.#pending.add(spec.name);
    this.#running.push(this.#follow(spec, apply));
  }

  /**
   * Follows node-agents' heartbeats: the stored ones from their bucket, always as `replayed` (a
   * bucket write can arrive seconds late, once its stream has elected a leader), and the live
   * ones from core NATS, which alone say that a node is alive now. The bucket counts toward the
   * whole view; live heartbeats flow from the start.
   */
  followHeartbeats(apply: Apply<NodeHealthSnapshot>): void {
    this.follow(Buckets.nodeHealth, (key, value) => apply(key, value, true));
    this.#running.push(
      (async () => {
        for await (const beat of this.bus.heartbeats(this.signal)) apply(beat.key, beat, false);
      })(),
    );
  }

  /** Settles once every watch has ended (the signal aborted or the bus closed). */
  async done(): Promise<void> {
    await Promise.allSettled(this.#running);
  }

  async #follow<T extends { key: string }>(spec: BucketSpec<T>, apply: Apply<T>): Promise<void> {
    const bucket = await this.bus.bucket(spec);
    for await (const change of bucket.watch(this.signal)) {
      if (change.type === 'initialized') {
        this.#pending.delete(spec.name);
        if (this.#pending.size === 0) this.onInitialized();
      } else if (change.type !== 'resumed')
        apply(change.key, change.type === 'put' ? change.value : undefined, change.stored);
    }
  }
}

/** An `Apply` that keeps `map` equal to the bucket and calls `changed` after each change. */
export function into<T>(map: Map<string, T>, changed: () => void): Apply<T> {
  return (key, value) => {
    if (value === undefined) map.delete(key);
    else map.set(key, value);
    changed();
  };
}

/**
 * The snapshots that decide which nodes serve a VIP, kept equal to the bus: route-publisher
 * (next hops) and node-agent (layer-2 owners) both read them.
 */
export type ServingSnapshots = {
  readonly [K in keyof ServingInputs]: ServingInputs[K] extends ReadonlyMap<string, infer V> ? Map<string, V> : never;
};

/** Empty maps for `followServing` to fill. */
export function servingSnapshots(): ServingSnapshots {
  return { allocations: new Map(), services: new Map(), endpoints: new Map(), nodes: new Map(), pools: new Map() };
}

/** Keeps `snapshots` equal to their buckets with `follower`, calling `changed` after each change. */
export function followServing(follower: BucketFollower, snapshots: ServingSnapshots, changed: () => void): void {
  follower.follow(Buckets.allocations, into(snapshots.allocations, changed));
  follower.follow(Buckets.services, into(snapshots.services, changed));
  follower.follow(Buckets.endpoints, into(snapshots.endpoints, changed));
  follower.follow(Buckets.nodes, into(snapshots.nodes, changed));
  follower.follow(Buckets.pools, into(snapshots.pools, changed));
}
