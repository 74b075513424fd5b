import { newEvent, type NodeHealthSnapshot } from '@berth/contracts';
import { servingSnapshots, type Bus } from '@berth/bus';
import type { Logger } from '@berth/runtime';
import { electOwners, NodeHealth, type L2Owner } from '@berth/serving';
import { Bursts } from './layer2/bursts.js';
import type { Responder } from './layer2/responder.js';
import type { NodeAgentMetrics } from './metrics.js';
import { wireAddress, type WireAddress } from './packets/address.js';

export interface AgentOptions {
  /** This node's name, as in its Node object and its heartbeats. */
  readonly node: string;
  readonly responder: Responder;
  readonly bus: Pick<Bus, 'publishEvent'>;
  readonly logger: Logger;
  readonly metrics: NodeAgentMetrics;
  /** An agent whose heartbeats stop for this long is out; the same on every agent. */
  readonly healthTimeoutMs: number;
  /** When a takeover is announced (ms after it); the first entry should be 0. */
  readonly announceScheduleMs?: readonly number[];
  /**
   * How long a new owner waits before answering when the previous owner may still be answering
   * (it is healthy, or unknown), so that it has stopped first; a failover does not wait.
   * @default 300
   */
  readonly handoverDelayMs?: number;
}

/**
 * node-agent's shell: keeps the bus's inputs, elects the owner of every layer-2 VIP and makes
 * the responder answer for exactly the ones this node owns. It takes a VIP over only on a
 * current view of the bus; with a frozen one (its own heartbeats no longer come back) it keeps
 * what it has until another host announces one of those VIPs on the wire.
 */
export class NodeAgent {
  readonly snapshots = servingSnapshots();
  /** Judged as of our own heartbeat's last return: a stalled link to the bus declares nobody dead. */
  readonly #health: NodeHealth;
  readonly #bursts: Bursts;
  #inputsReady = false;
  #dirty = true;
  #healthySignature = '';
  #owners = new Map<string, L2Owner>();
  /** Owners as of the last current view, for owner-changed events. */
  readonly #lastOwners = new Map<string, string | undefined>();
  /** VIPs answered, by wire key. */
  readonly #answered = new Map<string, WireAddress>();
  /** VIPs we stepped back from because another host announced them, and when. */
  readonly #yielded = new Map<string, number>();
  /** For VIPs now elected to us (by wire key): the owner before us, as seen on a current view. */
  readonly #takeoverFrom = new Map<string, string | undefined>();
  /** VIPs to take over, by wire key, once the handover delay has passed. */
  readonly #pending = new Map<string, number>();
  #scheduled = false;
  #current = false;

  constructor(private readonly options: AgentOptions) {
    this.#health = new NodeHealth(options.healthTimeoutMs, { kind: 'echo', self: options.node });
    this.#bursts = new Bursts((key) => options.responder.announce(key), options.announceScheduleMs);
  }

  /** An input changed; a pass follows shortly. */
  changed(): void {
    this.#dirty = true;
    this.#schedule();
  }

  /** A heartbeat from an agent; our own, coming back, is what moves the view forward. */
  heartbeat(node: string, snapshot: NodeHealthSnapshot | undefined, replayed: boolean): void {
    this.#health.record(node, snapshot, Date.now(), replayed);
    this.#schedule();
  }

  inputsInitialized(): void {
    this.#inputsReady = true;
    this.changed();
  }

  /** Another host announced a VIP we answer for: it took over, so step back at once. */
  claimed(vip: string, mac: string, link: string): void {
    const key = wireAddress(vip).key;
    if (!this.#answered.has(key)) return;
    this.#stopAnswering(key, 'another host announced it');
    this.#yielded.set(key, Date.now());
    this.options.logger.warn(
      { vip, mac, interface: link, node: this.options.node },
      'another host announced the VIP; stepped back',
    );
  }

  stop(): void {
    this.#bursts.stopAll();
    for (const key of [...this.#answered.keys()]) this.#stopAnswering(key, 'stopping');
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pass();
    });
  }

  #pass(): void {
    if (!this.#inputsReady || !this.#health.started) return;
    const now = Date.now();
    const current = this.#health.current(now);
    if (current !== this.#current) {
      this.#current = current;
      // Elect again on the current view, so that the owners it records are the ones to fail over from.
      if (current) this.#dirty = true;
      this.options.metrics.busCurrent.set(current ? 1 : 0);
      const node = this.options.node;
      if (current) this.options.logger.info({ node }, 'view of the bus is current');
      else this.options.logger.warn({ node }, 'own heartbeats stopped coming back: view frozen, taking nothing over');
    }
    const healthy = this.#health.healthy(now);
    const signature = JSON.stringify([...healthy].sort(([a], [b]) => (a < b ? -1 : 1)));
    if (this.#dirty || signature !== this.#healthySignature) {
      this.#owners = electOwners({ ...this.snapshots, healthy });
      // Every agent elects the same owners, so each one can tell when a VIP has nobody to answer.
      let unowned = 0;
      for (const owner of this.#owners.values()) if (owner.node === undefined) unowned++;
      this.options.metrics.vipsUnowned.set(unowned);
      this.#healthySignature = signature;
      this.#dirty = false;
      if (current) this.#ownerEvents();
    }
    if (current)
      for (const [key, at] of this.#yielded)
        if (now - at >= this.options.healthTimeoutMs) {
          this.#yielded.delete(key);
          // Whoever made us step back may still answer: come back only after the handover delay.
          this.#takeoverFrom.delete(key);
        }

    const mine = new Map<string, { vip: WireAddress; owner: L2Owner }>();
    for (const owner of this.#owners.values())
      if (owner.node === this.options.node) {
        const vip = wireAddress(owner.vip);
        mine.set(vip.key, { vip, owner });
      }
    for (const key of [...this.#answered.keys()]) if (!mine.has(key)) this.#stopAnswering(key, 'no longer the owner');
    for (const key of [...this.#pending.keys()]) if (!mine.has(key)) this.#pending.delete(key);
    // Taking over needs a current view: a frozen one cannot tell a dead owner from a lost bus.
    if (!current) return;
    for (const [key, { vip, owner }] of mine) {
      if (this.#answered.has(key) || this.#yielded.has(key)) continue;
      const from = this.#takeoverFrom.get(key);
      const failover = from !== undefined && from !== this.options.node && !healthy.has(from);
      if (!failover) {
        const due = this.#pending.get(key) ?? now + (this.options.handoverDelayMs ?? 300);
        this.#pending.set(key, due);
        if (now < due) continue;
      }
      this.#pending.delete(key);
      this.options.responder.answer(vip, owner.interfaces);
      this.#answered.set(key, vip);
      this.#bursts.start(key);
      this.options.metrics.ownershipChanges.inc({ change: 'gained' });
      this.options.logger.info(
        {
          vip: vip.text,
          service: owner.service,
          node: this.options.node,
          interfaces: owner.interfaces,
          previousNode: from,
          failover,
        },
        'answering for VIP',
      );
    }
    this.options.metrics.vipsOwned.set(this.#answered.size);
  }

  #stopAnswering(key: string, reason: string): void {
    const vip = this.#answered.get(key);
    if (vip === undefined) return;
    this.#bursts.stop(key);
    this.options.responder.release(key);
    this.#answered.delete(key);
    this.options.metrics.ownershipChanges.inc({ change: 'lost' });
    this.options.metrics.vipsOwned.set(this.#answered.size);
    this.options.logger.info({ vip: vip.text, node: this.options.node, reason }, 'stopped answering for VIP');
  }

  /** The new owner tells the world; when nobody may own a VIP, the last owner does. */
  #ownerEvents(): void {
    const self = this.options.node;
    for (const owner of this.#owners.values()) {
      const previous = this.#lastOwners.get(owner.vip);
      if (this.#lastOwners.has(owner.vip) && previous === owner.node) continue;
      this.#lastOwners.set(owner.vip, owner.node);
      const key = wireAddress(owner.vip).key;
      if (owner.node === self) this.#takeoverFrom.set(key, previous);
      else this.#takeoverFrom.delete(key);
      if (owner.node === self || (owner.node === undefined && previous === self)) void this.#publish(owner, previous);
    }
    for (const vip of [...this.#lastOwners.keys()])
      if (!this.#owners.has(vip)) {
        this.#lastOwners.delete(vip);
        this.#takeoverFrom.delete(wireAddress(vip).key);
      }
  }

  async #publish(owner: L2Owner, previous: string | undefined): Promise<void> {
    const data = {
      vip: owner.vip,
      ...(owner.node === undefined ? {} : { node: owner.node }),
      ...(previous === undefined ? {} : { previousNode: previous }),
      service: owner.service,
      serviceUid: owner.serviceUid,
      pool: owner.pool,
    };
    try {
      await this.options.bus.publishEvent(
        'l2OwnerChanged',
        newEvent('l2OwnerChanged', `berth/node-agent/${this.options.node}`, owner.vip, data),
      );
    } catch (error) {
      // Events are for others; a lost one must not hold back the answers.
      this.options.logger.error(
        { err: error, vip: owner.vip, service: owner.service },
        'could not publish owner event',
      );
    }
  }
}
