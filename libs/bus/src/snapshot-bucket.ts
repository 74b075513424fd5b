import { setTimeout as sleep } from 'node:timers/promises';
import type { KV, KvEntry } from 'nats';
import type { Validator } from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import { ContractViolationError } from './errors.js';

/**
 * One change seen by a watcher: a snapshot, a tombstone, or the end of a read of the stored state.
 * `stored` changes were read from the bucket's stored state (at the start, or after the connection
 * came back or a cluster server left), not seen as they happened: a reader that cares when a
 * snapshot was written (a heartbeat) goes by the snapshot's own time for those.
 */
export type Change<T> =
  | {
      readonly type: 'put';
      readonly key: string;
      readonly value: T;
      readonly busRevision: number;
      readonly stored: boolean;
    }
  | { readonly type: 'deleted'; readonly key: string; readonly busRevision: number; readonly stored: boolean }
  /** Every key's current state has been yielded; what follows are live updates. */
  | { readonly type: 'initialized' }
  /** Read again (the connection came back, or a server of the cluster left): what changed meanwhile has been yielded. */
  | { readonly type: 'resumed' };

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
   * Yields the current state of every key, then `initialized`, then live changes until `signal`
   * aborts. When the connection comes back, or a server of the cluster leaves, it reads the
   * stored state again and yields only what changed meanwhile (keys gone as `deleted`), then
   * `resumed`. Entries that break the contract are logged, counted and skipped.
   */
  watch(signal: AbortSignal): AsyncIterable<Change<T>>;
}

/**
 * Subscribes to the moments a watch must read its bucket again: the connection came back, or a
 * server of the cluster went away (the consumer behind the watch may have lived there). The result
 * unsubscribes.
 */
export type OnRewatch = (listener: () => void) => () => void;

/** How a watch of the bucket ended: stopped, to be started over (a nats.js fault), or to be resumed. */
type WatchEnd = 'aborted' | 'restart' | 'resume';

/** Between attempts to watch a bucket again after the connection came back. */
const REWATCH_RETRY_MS = 250;

export class SnapshotBucketImpl<T extends { key: string }> implements SnapshotBucket<T> {
  constructor(
    private readonly kv: KV,
    readonly name: string,
    private readonly validator: Validator<T>,
    private readonly logger: Logger,
    private readonly countInvalid: (source: string) => void,
    private readonly onRewatch: OnRewatch,
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
    const change = this.decode(entry, true);
    return change?.type === 'put' ? change.value : undefined;
  }

  async current(): Promise<Map<string, T>> {
    const abort = new AbortController();
    const entries = new Map<string, T>();
    for await (const change of this.watch(abort.signal)) {
      if (change.type === 'initialized') break;
      if (change.type === 'put') entries.set(change.key, change.value);
      else if (change.type === 'deleted') entries.delete(change.key);
    }
    abort.abort();
    return entries;
  }

  async *watch(signal: AbortSignal): AsyncIterable<Change<T>> {
    // What this watcher has yielded (each live key's revision), so a re-read yields only news.
    const known = new Map<string, number>();
    const progress = { initialized: false, restarts: 0 };
    while (!signal.aborted) {
      let end: WatchEnd;
      try {
        end = yield* this.#watchOnce(signal, known, progress);
      } catch (error) {
        // At the start a failure is the caller's to report; later, the bus may still be coming back.
        if (!progress.initialized) throw error;
        this.logger.warn({ err: error, bucket: this.name }, 'could not watch the bucket again; retrying');
        await sleep(REWATCH_RETRY_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (end === 'aborted') return;
      if (end === 'restart') progress.restarts++;
    }
  }

  /**
   * One watch of the bucket: its stored state (what `known` lacks), then live changes until the
   * signal aborts, the connection comes back from a drop or a server of the cluster goes away
   * (the consumer behind the watch may be gone, and nats.js would notice only after two missed
   * idle heartbeats, 10 s), or the watch ends by itself. nats.js's ordered consumer also sometimes restarts while it delivers the
   * stored state, delivering one message twice and skipping keys stored before it (about 3 % of
   * reads under heartbeat load), or says at once that nothing is stored (about 1 in 4,000), or
   * (nats-server 2.15) skips a key without a repeat (about 1 in 1,500): a repeat then, or fewer
   * stored entries than the bucket holds messages (one per key), ends this watch with `restart`,
   * up to five times in a row.
   */
  async *#watchOnce(
    signal: AbortSignal,
    known: Map<string, number>,
    progress: { initialized: boolean; restarts: number },
  ): AsyncGenerator<Change<T>, WatchEnd> {
    const mayRestart = progress.restarts < 4;
    const pending: Change<T>[] = [];
    let wake: (() => void) | undefined;
    const state = { storedRead: false, restart: false, resume: false, entries: 0 };
    const seen = new Set<string>();
    const push = (change: Change<T>): void => {
      pending.push(change);
      wake?.();
    };
    const iterator = await this.kv.watch({
      key: '>',
      initializedFn: () => {
        state.storedRead = true;
        for (const [key, busRevision] of known)
          if (!seen.has(key)) push({ type: 'deleted', key, busRevision, stored: true });
        push({ type: progress.initialized ? 'resumed' : 'initialized' });
      },
    });
    const stop = (): void => {
      iterator.stop();
      wake?.();
    };
    signal.addEventListener('abort', stop, { once: true });
    const unsubscribe = this.onRewatch(() => {
      state.resume = true;
      stop();
    });
    // The NATS iterator calls initializedFn from inside its own loop, so both sources feed one queue.
    const pump = (async () => {
      try {
        let last = 0;
        for await (const entry of iterator) {
          const stored = !state.storedRead;
          if (entry.revision <= last) {
            if (stored && mayRestart) {
              state.restart = true;
              break;
            }
            continue;
          }
          last = entry.revision;
          if (stored) {
            state.entries++;
            seen.add(entry.key);
            // A tombstone of a key never yielded is news only at the start.
            const unchanged =
              entry.operation === 'PUT'
                ? known.get(entry.key) === entry.revision
                : progress.initialized && !known.has(entry.key);
            if (unchanged) continue;
          }
          const change = this.decode(entry, stored);
          if (change !== undefined) push(change);
        }
      } catch (error) {
        this.logger.warn({ err: error, bucket: this.name }, 'the watch of the bucket broke; watching again');
      } finally {
        state.resume ||= !state.restart;
        wake?.();
      }
    })();
    try {
      while (!signal.aborted) {
        const next = pending.shift();
        if (next === undefined) {
          if (state.resume || state.restart) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        if (next.type === 'initialized' || next.type === 'resumed') {
          // Fewer stored entries than the bucket holds (one message per key): some were skipped.
          if (mayRestart && state.entries < (await this.kv.status()).values) {
            state.restart = true;
            break;
          }
          progress.initialized = true;
          progress.restarts = 0;
        } else if (next.type === 'put') known.set(next.key, next.busRevision);
        else known.delete(next.key);
        yield next;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      unsubscribe();
      iterator.stop();
      await pump;
      releaseConsumer(iterator);
    }
    if (signal.aborted) return 'aborted';
    return state.restart ? 'restart' : 'resume';
  }

  private decode(entry: KvEntry, stored: boolean): Change<T> | undefined {
    if (entry.operation !== 'PUT') return { type: 'deleted', key: entry.key, busRevision: entry.revision, stored };
    const result = this.validator.decode(entry.value);
    if (result.ok && result.value.key === entry.key) {
      return { type: 'put', key: entry.key, value: result.value, busRevision: entry.revision, stored };
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

/**
 * Deletes the consumer behind a finished watch now, not after the server's inactivity timeout:
 * nats-server keeps at most 1,000 consumers per stream (2.11 and later), and a reader that reads
 * the bucket often (`current()`) would otherwise run into that. nats.js keeps the watch's
 * subscription in the iterator's `_data`; one that is gone already is left alone.
 */
function releaseConsumer(iterator: object): void {
  const sub: unknown = '_data' in iterator ? iterator._data : undefined;
  if (typeof sub !== 'object' || sub === null || !('destroy' in sub) || typeof sub.destroy !== 'function') return;
  const destroyed: unknown = sub.destroy.call(sub);
  if (destroyed instanceof Promise) destroyed.catch(() => undefined);
}
