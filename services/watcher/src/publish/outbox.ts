import type { Logger } from '@berth/runtime';

/** Where an outbox writes: one snapshot bucket. */
export interface SnapshotSink<T> {
  readonly name: string;
  current(): Promise<ReadonlyMap<string, T>>;
  put(snapshot: T): Promise<unknown>;
  delete(key: string): Promise<void>;
}

const RETRY_MS = 1000;

/**
 * The desired snapshot per key of one bucket, and what was last written. Changes are coalesced
 * per key (only the latest state is written), unchanged content is not written again, and a
 * failed write stays pending and is retried, so a bus outage loses nothing (fail static).
 */
export class Outbox<T extends { key: string }> {
  readonly #desired = new Map<string, T>();
  /** JSON of what the bucket holds per key, as far as this outbox knows; absent = nothing. */
  readonly #written = new Map<string, string>();
  readonly #dirty = new Set<string>();
  /** The desired state is complete (the first full list is in), so pruning is safe. */
  #complete = false;
  /** Keys whose write failed; they go back to #dirty when the retry timer fires. */
  readonly #failed = new Set<string>();
  readonly #running = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  constructor(
    private readonly sink: SnapshotSink<T>,
    private readonly logger: Logger,
    private readonly options: {
      concurrency: number;
      /** Writes wait while this is false (another replica leads). */
      active?: () => boolean;
      onWritten?: (kind: 'put' | 'delete') => void;
    },
  ) {}

  /** Sets the desired state of `key`: a snapshot, or undefined for a tombstone. */
  set(key: string, snapshot: T | undefined): void {
    if (snapshot === undefined) this.#desired.delete(key);
    else this.#desired.set(key, snapshot);
    const want = snapshot === undefined ? undefined : JSON.stringify(snapshot);
    if (want === this.#written.get(key) && !this.#dirty.has(key) && !this.#failed.has(key)) return;
    this.#failed.delete(key);
    this.#dirty.add(key);
    this.pump();
  }

  /**
   * Tombstones every key the bucket holds that is not desired. Call once the desired state is
   * complete (after the first full list): objects deleted while no watcher ran go away too.
   */
  prune(): void {
    this.#complete = true;
    for (const key of this.#written.keys()) if (!this.#desired.has(key)) this.#dirty.add(key);
    this.pump();
  }

  /**
   * Starts writing as the new leader: reads what the bucket holds, forgets what it believed was
   * written, and writes only what differs from the desired state (nothing twice). Retries until
   * the bucket can be read.
   */
  async takeOver(): Promise<void> {
    let existing: ReadonlyMap<string, T>;
    for (;;) {
      try {
        existing = await this.sink.current();
        break;
      } catch (error) {
        this.logger.warn({ bucket: this.sink.name, err: error }, 'could not read the bucket; will retry');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    this.#written.clear();
    for (const [key, snapshot] of existing) this.#written.set(key, JSON.stringify(snapshot));
    for (const [key, snapshot] of this.#desired) {
      if (JSON.stringify(snapshot) !== this.#written.get(key)) this.#dirty.add(key);
    }
    if (this.#complete) this.prune();
    else this.pump();
  }

  /** Writes every desired snapshot again (periodic resync), whatever was written before. */
  rewriteAll(): void {
    this.#written.clear();
    for (const key of this.#desired.keys()) this.#dirty.add(key);
    this.pump();
  }

  get pending(): number {
    return this.#dirty.size + this.#failed.size + this.#running.size;
  }

  /** Resolves when nothing is pending. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stop(): void {
    clearTimeout(this.#retryTimer);
  }

  private pump(): void {
    if (this.options.active?.() === false) return;
    for (const key of this.#dirty) {
      if (this.#running.size >= this.options.concurrency) break;
      // Writes of one key never overlap, so the last one written is the last one wanted.
      if (this.#running.has(key)) continue;
      this.#dirty.delete(key);
      this.#running.add(key);
      void this.write(key).finally(() => {
        this.#running.delete(key);
        this.pump();
        if (this.pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
    }
  }

  private async write(key: string): Promise<void> {
    const snapshot = this.#desired.get(key);
    const json = snapshot === undefined ? undefined : JSON.stringify(snapshot);
    if (json === this.#written.get(key)) return;
    try {
      if (snapshot === undefined) {
        await this.sink.delete(key);
        this.#written.delete(key);
        this.options.onWritten?.('delete');
      } else {
        await this.sink.put(snapshot);
        this.#written.set(key, json as string);
        this.options.onWritten?.('put');
      }
    } catch (error) {
      this.logger.warn({ bucket: this.sink.name, key, err: error }, 'could not write snapshot; will retry');
      this.#failed.add(key);
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        for (const failed of this.#failed) this.#dirty.add(failed);
        this.#failed.clear();
        this.pump();
      }, RETRY_MS);
    }
  }
}
