import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@berth/runtime';
import { KubeApiError, type KubeApi } from '@berth/kube';
import { microTime } from './micro-time.js';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export interface LeaderOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** How long a standby waits after the last renewal it saw before taking over. */
  readonly leaseDurationMs: number;
  /** A leader that could not renew for this long stops acting; shorter than the lease. */
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/**
 * Active/standby through a coordination.k8s.io Lease. Expiry is judged by when this process last
 * saw the record change, not by comparing clocks across machines (as client-go does).
 */
export class LeaderElector {
  #leading = false;
  #lastRenewed = 0;
  #observed = '';
  #observedAt = 0;

  /** `reach` hears whether each attempt reached the API server. */
  constructor(
    private readonly api: KubeApi,
    private readonly options: LeaderOptions,
    private readonly logger: Logger,
    private readonly reach?: { reached(): void; failed(error: unknown): void },
  ) {}

  get isLeader(): boolean {
    return this.#leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name}`;
  }

  /** Campaigns until `signal` aborts; `started` runs each time this replica becomes the leader. */
  async run(signal: AbortSignal, started: () => void): Promise<void> {
    while (!signal.aborted) {
      try {
        if (await this.tryAcquireOrRenew()) this.#lastRenewed = Date.now();
        this.reach?.reached();
      } catch (error) {
        this.logger.warn({ err: error, lease: this.options.name }, 'could not reach the leader Lease');
        this.reach?.failed(error);
      }
      const renewed = Date.now() - this.#lastRenewed < this.options.renewDeadlineMs;
      if (renewed && !this.#leading) {
        this.#leading = true;
        this.logger.info({ identity: this.options.identity }, 'became the leader');
        started();
      } else if (!renewed && this.#leading) {
        this.#leading = false;
        this.logger.warn({ identity: this.options.identity }, 'lost the lead');
      }
      await sleep(this.options.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Gives the Lease up at once, so a standby need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.api.get<Lease>(this.path);
      if (lease.spec.holderIdentity !== this.options.identity) return;
      await this.api.replace(this.path, { ...lease, spec: { ...lease.spec, holderIdentity: null, renewTime: null } });
      this.logger.info('released the leader Lease');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not release the leader Lease; it will expire');
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const seconds = Math.ceil(this.options.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.api.get<Lease>(this.path);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
      await this.api.create(this.path.slice(0, this.path.lastIndexOf('/')), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.options.name, namespace: this.options.namespace },
        spec: {
          holderIdentity: this.options.identity,
          leaseDurationSeconds: seconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      });
      return true;
    }
    const holder = lease.spec.holderIdentity ?? '';
    const record = `${holder}|${lease.spec.renewTime ?? ''}`;
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = now.getTime();
    }
    const heldByOther = holder !== '' && holder !== this.options.identity;
    if (heldByOther && now.getTime() - this.#observedAt < this.options.leaseDurationMs) return false;
    const taking = holder !== this.options.identity;
    try {
      await this.api.replace(this.path, {
        ...lease,
        spec: {
          holderIdentity: this.options.identity,
          leaseDurationSeconds: seconds,
          acquireTime: taking ? microTime(now) : lease.spec.acquireTime,
          renewTime: microTime(now),
          leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (taking ? 1 : 0),
        },
      });
    } catch (error) {
      // Someone else wrote the Lease first (resourceVersion conflict): they lead.
      if (error instanceof KubeApiError && error.status === 409) return false;
      throw error;
    }
    return true;
  }
}
