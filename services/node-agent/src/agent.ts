import { newEvent, type NodeHealthSnapshot } from '@berth/contracts';
import { BUS_RETURN_GRACE_MS, servingSnapshots, type Bus } from '@berth/bus';
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
   * How long an owner that lost a VIP to a healthy node goes on answering at most, until it hears
   * the new owner announce it (make-before-break: nobody goes unanswered meanwhile).
   * @default 1000
   */
  readonly handoverMs?: number;
}

/** What this agent holds about one layer-2 VIP: its election, handover and answering. */
interface VipState {
  readonly vip: WireAddress;
  /** The owner elected on the last current view (undefined: nobody may own it), once there was one. */
  elected: { readonly node: string | undefined } | undefined;
  /** Elected to us: the owner before us, as seen on a current view. */
  takeoverFrom: string | undefined;
  /** Elected to a healthy node while we answer: we go on until it announces, or until then. */
  handoverUntil: number | undefined;
  /** Taken over from a healthy owner: until then, what we hear from others is it handing over. */
  takingOverUntil: number | undefined;
  /** When we stepped back because another host announced it. */
  yieldedAt: number | undefined;
  answering: boolean;
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
  /** By wire key; a VIP's record lasts while it is elected, answered or stepped back from. */
  readonly #vips = new Map<string, VipState>();
  #scheduled = false;
  #current = false;

  constructor(private readonly options: AgentOptions) {
    this.#health = new NodeHealth(options.healthTimeoutMs, { self: options.node }, BUS_RETURN_GRACE_MS);
    this.#bursts = new Bursts((key) => options.responder.announce(key), options.announceScheduleMs);
  }

  get #handoverMs(): number {
    return this.options.handoverMs ?? 1000;
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

  /** It has read every bucket it elects owners from: it could take a VIP over now. */
  get synced(): boolean {
    return this.#inputsReady;
  }

  inputsInitialized(): void {
    this.#inputsReady = true;
    this.changed();
  }

  /**
   * Another host announced a VIP we answer for: it took over, so step back at once; unless we
   * are taking it over from a healthy owner, whose answers we then hear until it has heard us.
   */
  claimed(vip: string, mac: string, link: string): void {
    const state = this.#vips.get(wireAddress(vip).key);
    if (state?.answering !== true) return;
    if (state.takingOverUntil !== undefined && Date.now() < state.takingOverUntil) return;
    this.#stopAnswering(state, 'another host announced it');
    state.yieldedAt = Date.now();
    this.options.logger.warn(
      { vip, mac, interface: link, node: this.options.node },
      'another host announced the VIP; stepped back',
    );
  }

  stop(): void {
    this.#bursts.stopAll();
    for (const state of this.#vips.values()) this.#stopAnswering(state, 'stopping');
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
    const healthy = this.#health.healthy();
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
      for (const state of this.#vips.values())
        if (state.yieldedAt !== undefined && now - state.yieldedAt >= this.options.healthTimeoutMs) {
          state.yieldedAt = undefined;
          state.takeoverFrom = undefined;
        }

    const mine = new Map<string, { vip: WireAddress; owner: L2Owner }>();
    for (const owner of this.#owners.values())
      if (owner.node === this.options.node) {
        const vip = wireAddress(owner.vip);
        mine.set(vip.key, { vip, owner });
      }
    for (const [key, state] of this.#vips)
      if (!mine.has(key)) {
        if (current && state.answering && this.#handingOver(state, healthy, now)) continue;
        this.#stopAnswering(state, 'no longer the owner');
        state.handoverUntil = undefined;
      }
    // Taking over needs a current view: a frozen one cannot tell a dead owner from a lost bus.
    if (current)
      for (const { vip, owner } of mine.values()) {
        const state = this.#state(vip);
        if (!state.answering && state.yieldedAt === undefined) this.#takeOver(state, owner, healthy);
      }
    this.#forgetIdle();
  }

  /**
   * Whether we go on answering a VIP elected to another node: while that node is healthy, until
   * it announces the VIP (claimed() then stops us) or `handoverMs` has passed. Make-before-break:
   * for a moment both answer, and both deliver, rather than nobody.
   */
  #handingOver(state: VipState, healthy: ReadonlyMap<string, unknown>, now: number): boolean {
    const next = state.elected?.node;
    if (next === undefined || next === this.options.node || !healthy.has(next)) return false;
    state.handoverUntil ??= now + this.#handoverMs;
    return now < state.handoverUntil;
  }

  /** Answers for a VIP elected to us, at once: a previous owner still answering stops on hearing us. */
  #takeOver(state: VipState, owner: L2Owner, healthy: ReadonlyMap<string, unknown>): void {
    const { vip } = state;
    const from = state.takeoverFrom;
    const failover = from !== undefined && from !== this.options.node && !healthy.has(from);
    state.handoverUntil = undefined;
    state.takingOverUntil = failover ? undefined : Date.now() + this.#handoverMs;
    this.options.responder.answer(vip, owner.interfaces);
    state.answering = true;
    this.#bursts.start(vip.key);
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
    this.#countOwned();
  }

  #stopAnswering(state: VipState, reason: string): void {
    if (!state.answering) return;
    const { vip } = state;
    this.#bursts.stop(vip.key);
    this.options.responder.release(vip.key);
    state.answering = false;
    this.options.metrics.ownershipChanges.inc({ change: 'lost' });
    this.#countOwned();
    this.options.logger.info({ vip: vip.text, node: this.options.node, reason }, 'stopped answering for VIP');
  }

  #countOwned(): void {
    let owned = 0;
    for (const state of this.#vips.values()) if (state.answering) owned++;
    this.options.metrics.vipsOwned.set(owned);
  }

  #state(vip: WireAddress): VipState {
    let state = this.#vips.get(vip.key);
    if (state === undefined) {
      state = {
        vip,
        elected: undefined,
        takeoverFrom: undefined,
        handoverUntil: undefined,
        takingOverUntil: undefined,
        yieldedAt: undefined,
        answering: false,
      };
      this.#vips.set(vip.key, state);
    }
    return state;
  }

  /** Drops the records of VIPs no longer elected, answered or stepped back from. */
  #forgetIdle(): void {
    for (const [key, state] of this.#vips)
      if (state.elected === undefined && !state.answering && state.yieldedAt === undefined) this.#vips.delete(key);
  }

  /** The new owner tells the world; when nobody may own a VIP, the last owner does. */
  #ownerEvents(): void {
    const self = this.options.node;
    const elected = new Set<string>();
    for (const owner of this.#owners.values()) {
      const state = this.#state(wireAddress(owner.vip));
      elected.add(state.vip.key);
      if (state.elected !== undefined && state.elected.node === owner.node) continue;
      const previous = state.elected?.node;
      state.elected = { node: owner.node };
      state.takeoverFrom = owner.node === self ? previous : undefined;
      if (owner.node === self || (owner.node === undefined && previous === self)) void this.#publish(owner, previous);
    }
    for (const [key, state] of this.#vips)
      if (!elected.has(key)) {
        state.elected = undefined;
        state.takeoverFrom = undefined;
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
