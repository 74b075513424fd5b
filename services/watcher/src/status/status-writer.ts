import type { AllocationSnapshot } from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import { KubeApiError, type KubeApi } from '@berth/kube';
import { microTime } from '../kube/micro-time.js';
import { KeyedWorker } from '@berth/runtime';
import type { ServiceEntry } from '../publish/cluster-state.js';
import { decideFinalizers, decideStatus, type ServiceEvent, type StatusWrite } from './service-status.js';

/** The field manager of everything the watcher applies. */
export const FIELD_MANAGER = 'berth-watcher';
const RETRY_MS = 1000;

/**
 * Carries ipam's decisions into the cluster: each Service's address, condition and Events, and the
 * cleanup finalizer. Work is coalesced per Service; failures are retried; nothing is written while
 * `active()` is false (another replica leads).
 */
export class StatusWriter {
  readonly #allocations = new Map<string, AllocationSnapshot>();
  readonly #lastEvent = new Map<string, string>();
  /** Events decided but not yet created; kept until the API accepts them. */
  readonly #pendingEvents = new Map<string, ServiceEvent>();
  readonly #worker: KeyedWorker;

  constructor(
    private readonly api: KubeApi,
    private readonly services: (key: string) => ServiceEntry | undefined,
    private readonly logger: Logger,
    private readonly options: { reportingInstance: string; concurrency: number; active: () => boolean },
  ) {
    this.#worker = new KeyedWorker((key) => this.reconcile(key), {
      concurrency: options.concurrency,
      retryMs: RETRY_MS,
      active: options.active,
      onError: (key, error) => {
        // 409: a newer object is on its way through the watch; 404: the Service is gone.
        if (error instanceof KubeApiError && (error.status === 409 || error.status === 404)) return 'final';
        this.logger.warn({ service: key, err: error }, 'could not update Service; will retry');
        return 'retry';
      },
    });
  }

  allocation(key: string, allocation: AllocationSnapshot | undefined): void {
    if (allocation === undefined) this.#allocations.delete(key);
    else this.#allocations.set(key, allocation);
    this.#worker.touch(key, true);
  }

  /** Something about this Service changed: look at it again. */
  touch(key: string): void {
    this.#worker.touch(key);
  }

  /** Looks at every Service again (on becoming the leader). */
  touchAll(keys: Iterable<string>): void {
    this.#worker.touchAll(keys);
  }

  stop(): void {
    this.#worker.stop();
  }

  private async reconcile(key: string): Promise<void> {
    const entry = this.services(key);
    if (entry === undefined) {
      this.#lastEvent.delete(key);
      this.#pendingEvents.delete(key);
      return;
    }
    const { object, ours } = entry;
    const { name, namespace = 'default', uid, resourceVersion } = object.metadata;
    const path = `/api/v1/namespaces/${namespace}/services/${name}`;
    const allocation = this.#allocations.get(key);

    if (ours) {
      const { write, event } = decideStatus(object, allocation, new Date());
      if (event !== undefined) this.#pendingEvents.set(key, event);
      if (write !== undefined) {
        await this.writeStatus(path, object.metadata, write);
        this.logger.info(
          { service: key, vip: write.ingress.map((i) => i.ip), reason: write.condition.reason },
          'Service status written',
        );
      }
      const pending = this.#pendingEvents.get(key);
      if (pending !== undefined) {
        await this.emit(key, entry, pending);
        this.#pendingEvents.delete(key);
      }
    }
    const finalizers = decideFinalizers(object, ours, allocation);
    if (finalizers !== undefined) {
      // resourceVersion makes this a compare-and-swap: a concurrent change gets 409, then a retouch.
      await this.api.mergePatch(path, { metadata: { finalizers, resourceVersion, uid } });
      this.logger.info({ service: key, finalizers }, 'Service finalizers written');
    }
  }

  private writeStatus(
    path: string,
    metadata: ServiceEntry['object']['metadata'],
    write: StatusWrite,
  ): Promise<unknown> {
    return this.api.apply(
      `${path}/status`,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: metadata.name, namespace: metadata.namespace, uid: metadata.uid },
        status: { loadBalancer: { ingress: write.ingress }, conditions: [write.condition] },
      },
      FIELD_MANAGER,
    );
  }

  private async emit(key: string, { object }: ServiceEntry, event: ServiceEvent): Promise<void> {
    const id = `${object.metadata.uid}|${event.reason}|${event.note}`;
    if (this.#lastEvent.get(key) === id) return;
    const { name, namespace = 'default', uid } = object.metadata;
    await this.api.create(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // Named like client-go's recorder does: the object's name and a unique suffix.
      metadata: {
        name: `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`,
        namespace,
      },
      eventTime: microTime(new Date()),
      reportingController: 'berth.dev/watcher',
      reportingInstance: this.options.reportingInstance,
      action: 'AssignAddress',
      reason: event.reason,
      note: event.note.slice(0, 1024),
      type: event.type,
      regarding: { apiVersion: 'v1', kind: 'Service', name, namespace, uid },
    });
    this.#lastEvent.set(key, id);
  }
}
