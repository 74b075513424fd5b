import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@berth/runtime';
import { KubeApiError, type KubeApi, type KubeObject, type WatchEventType } from '@berth/kube';

/** What a list-watch tells its owner. Calls arrive one at a time, in the server's order. */
export interface ListWatchHandlers<T> {
  upsert(object: T): void;
  remove(object: T): void;
  /** A complete list was applied: every current object was upserted, every vanished one removed. */
  synced(): void;
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace === undefined ? name : `${namespace}/${name}`;
}

class Gone extends Error {}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Drops what Berth never reads and what costs the most memory: managedFields, and kubectl's copy
 * of the whole object in an annotation. Thousands of objects are held at once.
 */
export function trimObject<T extends KubeObject>(object: T): T {
  const metadata = object.metadata as T['metadata'] & { managedFields?: unknown };
  delete metadata.managedFields;
  if (metadata.annotations !== undefined && LAST_APPLIED in metadata.annotations) {
    metadata.annotations = Object.fromEntries(
      Object.entries(metadata.annotations).filter(([key]) => key !== LAST_APPLIED),
    );
  }
  return object;
}

/** Read again after an await: the signal may have been aborted meanwhile. */
const stopped = (signal: AbortSignal): boolean => signal.aborted;

const PAGE_SIZE = 500;
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/**
 * Keeps a local copy of one collection in step with the API server, forever: lists in pages,
 * then watches from the list's resourceVersion with bookmarks; a closed or idle watch resumes
 * from the last resourceVersion seen; `410 Gone` means a full relist. Any other failure (the
 * server down, 403, 500) is logged and retried with backoff, never given up on.
 */
export class ListWatch<T extends KubeObject> {
  readonly #store = new Map<string, T>();
  #resourceVersion = '';

  constructor(
    private readonly api: KubeApi,
    private readonly path: string,
    private readonly handlers: ListWatchHandlers<T>,
    private readonly logger: Logger,
  ) {}

  /** The objects as last seen, by key. */
  get objects(): ReadonlyMap<string, T> {
    return this.#store;
  }

  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let backoff = MIN_BACKOFF_MS;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        await this.watchOnce(signal);
        backoff = MIN_BACKOFF_MS;
      } catch (error) {
        if (stopped(signal)) break;
        if (error instanceof Error && error.name === 'TimeoutError') {
          // The stream stayed silent too long (no events, no bookmarks): resume where it was.
          this.logger.debug({ path: this.path }, 'watch idle; resuming');
          continue;
        }
        if (error instanceof Gone || (error instanceof KubeApiError && error.status === 410)) {
          this.logger.info({ path: this.path }, 'resourceVersion expired; listing again');
          needList = true;
          continue;
        }
        this.logger.warn({ path: this.path, err: error, retryInMs: backoff }, 'list/watch failed; retrying');
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.api.list<T>(this.path, {
        limit: PAGE_SIZE,
        ...(continueToken === undefined ? {} : { continueToken }),
      });
      for (const item of page.items) fresh.set(objectKey(item), trimObject(item));
      continueToken = page.continueToken;
      resourceVersion = page.resourceVersion;
    } while (continueToken !== undefined && !signal.aborted);
    for (const [key, old] of this.#store) {
      if (!fresh.has(key)) {
        this.#store.delete(key);
        this.handlers.remove(old);
      }
    }
    for (const [key, object] of fresh) {
      const old = this.#store.get(key);
      this.#store.set(key, object);
      if (old?.metadata.resourceVersion !== object.metadata.resourceVersion) this.handlers.upsert(object);
    }
    this.#resourceVersion = resourceVersion;
    this.handlers.synced();
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    // The client library swallows what a callback throws, so a failure is kept and the stream cut.
    let failure: Error | undefined;
    try {
      await this.api.watch(
        this.path,
        this.#resourceVersion,
        (type, object) => {
          if (failure !== undefined) return;
          failure = this.apply(type, object);
          if (failure !== undefined) stop.abort();
        },
        stop.signal,
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure;
  }

  /** Applies one watch event; returns the error the server reported instead, if any. */
  private apply(type: WatchEventType, raw: unknown): Error | undefined {
    if (type === 'ERROR') {
      const status = raw as { code?: number; message?: string };
      return status.code === 410
        ? new Gone()
        : new KubeApiError(status.code ?? 500, 'WatchError', status.message ?? 'watch error');
    }
    const object = raw as T;
    this.#resourceVersion = object.metadata.resourceVersion;
    if (type === 'BOOKMARK') return undefined;
    trimObject(object);
    const key = objectKey(object);
    if (type === 'DELETED') {
      this.#store.delete(key);
      this.handlers.remove(object);
    } else {
      this.#store.set(key, object);
      this.handlers.upsert(object);
    }
    return undefined;
  }
}
