import { ContractViolationError } from '@berth/bus';
import type { Logger } from '@berth/runtime';
import { KeyedWorker } from '@berth/runtime';

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
  /** The desired state is complete (the first full list is in), so pruning is safe. */
  #complete = false;
  readonly #worker: KeyedWorker;

  constructor(
    private readonly sink: SnapshotSink<T>,
    private readonly logger: Logger,
    private readonly options: {
      concurrency: number;
      /** Writes wait while this is false (another replica leads). */
      active?: () => boolean;
      onWritten?: (kind: 'put' | 'delete') => void;
    },
  ) {
    this.#worker = new KeyedWorker((key) => this.write(key), {
      concurrency: options.concurrency,
      retryMs: RETRY_MS,
      ...(options.active === undefined ? {} : { active: options.active }),
      onError: (key, error) => {
        // A snapshot that breaks its contract is a bug: retrying cannot fix it, so say so once.
        if (error instanceof ContractViolationError) {
          this.logger.error({ bucket: sink.name, key, err: error }, 'snapshot breaks its contract; not written');
          return 'final';
        }
        this.logger.warn({ bucket: sink.name, key, err: error }, 'could not write snapshot; will retry');
        return 'retry';
      },
    });
  }

  /** Sets the desired state of `key`: a snapshot, or undefined for a tombstone. */
  set(key: string, snapshot: T | undefined): void {
    if (snapshot === undefined) this.#desired.delete(key);
    else this.#desired.set(key, snapshot);
    const want = snapshot === undefined ? undefined : JSON.stringify(snapshot);
    if (want === this.#written.get(key) && !this.#worker.isPending(key)) return;
    this.#worker.touch(key);
  }

  /**
   * Tombstones every key the bucket holds that is not desired. Call once the desired state is
   * complete (after the first full list): objects deleted while no watcher ran go away too.
   */
  prune(): void {
    this.#complete = true;
    this.#worker.touchAll([...this.#written.keys()].filter((key) => !this.#desired.has(key)));
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
    const differing = [...this.#desired].filter(([key, s]) => JSON.stringify(s) !== this.#written.get(key));
    this.#worker.touchAll(differing.map(([key]) => key));
    if (this.#complete) this.prune();
  }

  /** Writes every desired snapshot again (periodic resync), whatever was written before. */
  rewriteAll(): void {
    this.#written.clear();
    this.#worker.touchAll(this.#desired.keys());
  }

  get pending(): number {
    return this.#worker.pending;
  }

  /** Resolves when nothing is pending. */
  drained(): Promise<void> {
    return this.#worker.drained();
  }

  stop(): void {
    this.#worker.stop();
  }

  private async write(key: string): Promise<void> {
    const snapshot = this.#desired.get(key);
    const json = snapshot === undefined ? undefined : JSON.stringify(snapshot);
    if (json === this.#written.get(key)) return;
    if (snapshot === undefined) {
      await this.sink.delete(key);
      this.#written.delete(key);
      this.options.onWritten?.('delete');
    } else {
      await this.sink.put(snapshot);
      this.#written.set(key, json as string);
      this.options.onWritten?.('put');
    }
  }
}
