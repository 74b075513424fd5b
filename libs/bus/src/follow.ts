import type { Bus } from './bus.js';
import type { BucketSpec } from './topology.js';

/** Called for each change; `replayed` is true for the bucket's stored state read at start. */
export type Apply<T> = (key: string, value: T | undefined, replayed: boolean) => void;

/**
 * Follows several snapshot buckets at once, and says when every one of them has yielded its
 * stored state, so a service acts only on a whole view, never on half of one.
 */
export class BucketFollower {
  readonly #pending = new Set<string>();
  readonly #running: Promise<void>[] = [];

  constructor(
    private readonly bus: Pick<Bus, 'bucket'>,
    private readonly signal: AbortSignal,
    private readonly onInitialized: () => void,
  ) {}

  follow<T extends { key: string }>(spec: BucketSpec<T>, apply: Apply<T>): void {
    this.#pending.add(spec.name);
    this.#running.push(this.#follow(spec, apply));
  }

  /** Settles once every watch has ended (the signal aborted or the bus closed). */
  async done(): Promise<void> {
    await Promise.allSettled(this.#running);
  }

  async #follow<T extends { key: string }>(spec: BucketSpec<T>, apply: Apply<T>): Promise<void> {
    const bucket = await this.bus.bucket(spec);
    let replayed = true;
    for await (const change of bucket.watch(this.signal)) {
      if (change.type === 'initialized') {
        replayed = false;
        this.#pending.delete(spec.name);
        if (this.#pending.size === 0) this.onInitialized();
      } else apply(change.key, change.type === 'put' ? change.value : undefined, replayed);
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
