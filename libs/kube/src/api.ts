import { KubeConfig, RequestContext, Watch, type HttpMethod } from '@kubernetes/client-node';
import { fetch } from 'undici';

/** A Kubernetes API error with the server's status code and reason. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The fields of ObjectMeta Berth reads. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continueToken?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The port the watcher reaches Kubernetes through: JSON in, JSON out, no model classes. */
export interface KubeApi {
  list<T extends KubeObject>(path: string, options: { limit: number; continueToken?: string }): Promise<ListPage<T>>;
  /** Streams watch events until the server closes, the connection idles out, or `signal` aborts. */
  watch(
    path: string,
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: unknown) => void,
    signal: AbortSignal,
  ): Promise<void>;
  get<T>(path: string): Promise<T>;
  /** A JSON merge patch (RFC 7386). */
  mergePatch<T>(path: string, patch: unknown): Promise<T>;
  create<T>(path: string, body: unknown): Promise<T>;
  /** Server-side apply as `fieldManager`, taking over the fields it sets (force). */
  apply<T>(path: string, body: unknown, fieldManager: string): Promise<T>;
  replace<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
}

interface Status {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

/** The API server of a kubeconfig file, or of the pod's service account when there is none. */
export function kubeApiFor(kubeconfig: string | undefined): HttpKubeApi {
  const kc = new KubeConfig();
  if (kubeconfig === undefined) kc.loadFromCluster();
  else kc.loadFromFile(kubeconfig);
  return new HttpKubeApi(kc);
}

/** KubeApi over the client library's authentication (kubeconfig or in-cluster) and undici. */
export class HttpKubeApi implements KubeApi {
  // The library's Watch aborts a stream that stays silent for 30 s; the list-watch then resumes from
  // its last resourceVersion, which also catches half-open connections.
  readonly #watch: Watch;
  readonly #timeoutMs: number;
  /** `timeoutMs`: how long one request may take (not a watch). */
  constructor(
    private readonly kc: KubeConfig,
    options: { timeoutMs?: number } = {},
  ) {
    this.#watch = new Watch(kc);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async list<T extends KubeObject>(
    path: string,
    options: { limit: number; continueToken?: string },
  ): Promise<ListPage<T>> {
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.continueToken !== undefined) query.set('continue', options.continueToken);
    const list = await this.request<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>(
      'GET',
      `${path}?${query.toString()}`,
    );
    return {
      items: list.items,
      resourceVersion: list.metadata.resourceVersion,
      ...(list.metadata.continue ? { continueToken: list.metadata.continue } : {}),
    };
  }

  watch(
    path: string,
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let controller: AbortController | undefined;
      const abort = () => controller?.abort();
      signal.addEventListener('abort', abort, { once: true });
      const done = (error: unknown) => {
        signal.removeEventListener('abort', abort);
        if (error === null || error === undefined || signal.aborted) resolve();
        else reject(error instanceof Error ? error : new Error('watch failed', { cause: error }));
      };
      this.#watch
        .watch(
          path,
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (type: string, object: unknown) => onEvent(type as WatchEventType, object),
          done,
        )
        .then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
        }, done);
    });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body, 'application/json');
  }

  apply<T>(path: string, body: unknown, fieldManager: string): Promise<T> {
    const query = new URLSearchParams({ fieldManager, force: 'true' });
    return this.request<T>('PATCH', `${path}?${query.toString()}`, body, 'application/apply-patch+yaml');
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body, 'application/json');
  }

  async delete(path: string): Promise<void> {
    await this.request<unknown>('DELETE', path);
  }

  private async request<T>(method: HttpMethod, path: string, body?: unknown, contentType?: string): Promise<T> {
    const cluster = this.kc.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    const context = new RequestContext(`${cluster.server}${path}`, method);
    await this.kc.applySecurityAuthentication(context);
    const headers = context.getHeaders();
    if (contentType !== undefined) headers['Content-Type'] = contentType;
    headers['Accept'] = 'application/json';
    const dispatcher = context.getDispatcher();
    const response = await fetch(context.getUrl(), {
      method,
      headers,
      ...(dispatcher === undefined ? {} : { dispatcher }),
      signal: AbortSignal.timeout(this.#timeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const status = (parsed ?? {}) as Status;
      throw new KubeApiError(response.status, status.reason ?? response.statusText, status.message ?? text);
    }
    return parsed as T;
  }
}
