import type { KV, KvEntry } from 'nats';
import type { Validator } from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import { ContractViolationError } from './errors.js';

/** One change seen by a watcher: a snapshot, a tombstone, or the end of the initial state. */
export type Change<T> =
  | { readonly type: 'put'; readonly key: string; readonly value: T; readonly busRevision: number }
  | { readonly type: 'deleted'; readonly key: string; readonly busRevision: number }
  /** Every key's current state has been yielded; what follows are live updates. */
  | { readonly type: 'initialized' };

/** The latest snapshot per key of one kind. Only the kind's one writer puts and deletes. */
export interface SnapshotBucket<T extends { key: string }> {
  readonly name: string;
  /** Stores the whole current state of `snapshot.key`; returns the bus revision. */
  put(snapshot: T): Promise<number>;
  /** Leaves a tombstone for `key`. Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  get(key: string): Promise<T | undefined>;
  /** Every key's current snapshot (tombstoned keys left out). */
  current(): Promise<Map<string, T>>;
  /**
   * Yields the current state of every key, then `initialized`, then live changes until
   * `signal` aborts. Entries that break the contract are logged, counted and skipped.
   */
  watch(signal: AbortSignal): AsyncIterable<Change<T>>;
}

export class SnapshotBucketImpl<T extends { key: string }> implements SnapshotBucket<T> {
  constructor(
    private readonly kv: KV,
    readonly name: string,
    private readonly validator: Validator<T>,
    private readonly logger: Logger,
    private readonly countInvalid: (source: string) => void,
  ) {}

  async put(snapshot: T): Promise<number> {
    const result = this.validator.check(snapshot);
    if (!result.ok) throw new ContractViolationError(this.validator.schemaId, result.problems);
    return this.kv.put(snapshot.key, JSON.stringify(snapshot));
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  async get(key: string): Promise<T | undefined> {
    const entry = await this.kv.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const change = this.decode(entry);
    return change?.type === 'put' ? change.value : undefined;
  }

  async current(): Promise<Map<string, T>> {
    const abort = new AbortController();
    const entries = new Map<string, T>();
    for await (const change of this.watch(abort.signal)) {
      if (change.type === 'initialized') break;
      if (change.type === 'put') entries.set(change.key, change.value);
      else entries.delete(change.key);
    }
    abort.abort();
    return entries;
  }

  async *watch(signal: AbortSignal): AsyncIterable<Change<T>> {
    // Re-reading the stored state yields puts a follower already has: harmless, as they are whole states.
    for (let attempt = 1; attempt <= 5; attempt++) if (!(yield* this.#watchOnce(signal, attempt < 5))) return;
  }

  /**
   * One watch of the bucket. nats.js's ordered consumer sometimes restarts while it delivers the
   * stored state, delivering one message twice and skipping keys stored before it (about 3 % of
   * reads under heartbeat load), or says at once that nothing is stored (about 1 in 4,000). So a repeat before `initialized`, or `initialized` first while the
   * bucket holds messages, ends this watch and returns true, for the caller to start over.
   */
  async *#watchOnce(signal: AbortSignal, mayRestart: boolean): AsyncGenerator<Change<T>, boolean> {
    const pending: Change<T>[] = [];
    let wake: (() => void) | undefined;
    const state = { initialized: false, restart: false, ended: false, entries: 0 };
    const push = (change: Change<T>): void => {
      pending.push(change);
      wake?.();
    };
    const iterator = await this.kv.watch({
      key: '>',
      initializedFn: () => {
        state.initialized = true;
        push({ type: 'initialized' });
      },
    });
    const stop = (): void => {
      iterator.stop();
      wake?.();
    };
    signal.addEventListener('abort', stop, { once: true });
    // The NATS iterator calls initializedFn from inside its own loop, so both sources feed one queue.
    const pump = (async () => {
      try {
        let last = 0;
        for await (const entry of iterator) {
          if (entry.revision <= last) {
            if (!state.initialized && mayRestart) {
              state.restart = true;
              break;
            }
            continue;
          }
          last = entry.revision;
          state.entries++;
          const change = this.decode(entry);
          if (change !== undefined) push(change);
        }
      } finally {
        state.ended = true;
        wake?.();
      }
    })();
    try {
      while (!signal.aborted) {
        const next = pending.shift();
        if (next?.type === 'initialized' && state.entries === 0 && mayRestart && (await this.kv.status()).values > 0) {
          state.restart = true;
          break;
        }
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (state.ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      iterator.stop();
      await pump;
    }
    return state.restart && !signal.aborted;
  }

  private decode(entry: KvEntry): Change<T> | undefined {
    if (entry.operation !== 'PUT') return { type: 'deleted', key: entry.key, busRevision: entry.revision };
    const result = this.validator.decode(entry.value);
    if (result.ok && result.value.key === entry.key) {
      return { type: 'put', key: entry.key, value: result.value, busRevision: entry.revision };
    }
    const problems = result.ok
      ? [`key field ${JSON.stringify(result.value.key)} differs from the entry's key`]
      : result.problems;
    this.logger.warn(
      { subject: `$KV.${this.name}.${entry.key}`, key: entry.key, problems },
      'dropped a snapshot that breaks its contract',
    );
    this.countInvalid(this.name);
    return undefined;
  }
}
