/**
 * Runs `work(key)` for keys that were touched: coalesced (touching a pending key again runs it
 * once), never twice at once for one key, at most `concurrency` keys at a time, and only while
 * `active()` holds. A key whose work throws is retried after `retryMs`, unless `onError` says
 * the failure is final. Keys touched as urgent go before the rest (a new allocation should not
 * wait behind a start-up backlog).
 */
export class KeyedWorker {
  readonly #urgent = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failed = new Set<string>();
  readonly #running = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly options: {
      concurrency: number;
      retryMs: number;
      active?: () => boolean;
      /** Told of each failure; return 'final' to drop the key instead of retrying it. */
      onError: (key: string, error: unknown) => 'retry' | 'final';
    },
  ) {}

  touch(key: string, urgent = false): void {
    this.#failed.delete(key);
    (urgent ? this.#urgent : this.#dirty).add(key);
    this.pump();
  }

  touchAll(keys: Iterable<string>): void {
    for (const key of keys) {
      this.#failed.delete(key);
      this.#dirty.add(key);
    }
    this.pump();
  }

  isPending(key: string): boolean {
    return this.#urgent.has(key) || this.#dirty.has(key) || this.#failed.has(key);
  }

  get pending(): number {
    return this.#urgent.size + this.#dirty.size + this.#failed.size + this.#running.size;
  }

  /** Resolves when nothing is pending. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Runs whatever is pending (call when `active()` may have turned true). */
  pump(): void {
    if (this.options.active?.() === false) return;
    for (const key of this.queued()) {
      if (this.#running.size >= this.options.concurrency) break;
      if (this.#running.has(key)) continue;
      this.#urgent.delete(key);
      this.#dirty.delete(key);
      this.#running.add(key);
      void this.work(key)
        .catch((error: unknown) => {
          if (this.options.onError(key, error) === 'retry') this.retryLater(key);
        })
        .finally(() => {
          this.#running.delete(key);
          this.pump();
          if (this.pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }

  /** Urgent keys first; lazily, since the backlog may be long and pump runs after every key. */
  private *queued(): Generator<string> {
    yield* this.#urgent;
    yield* this.#dirty;
  }

  stop(): void {
    clearTimeout(this.#retryTimer);
  }

  private retryLater(key: string): void {
    this.#failed.add(key);
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      for (const failed of this.#failed) this.#dirty.add(failed);
      this.#failed.clear();
      this.pump();
    }, this.options.retryMs);
  }
}
