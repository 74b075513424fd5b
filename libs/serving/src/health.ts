import type { NodeHealthSnapshot } from '@berth/contracts';

/**
 * The moment heartbeats are judged at. Either way a heartbeat counts from when it arrived here,
 * so other hosts' clocks never matter, and while our own view of the bus is stale the judgement
 * is frozen: everyone else's silence is then explained by it, and nobody is declared dead.
 */
export type HealthClock =
  /** The local clock, stopped while `connection(false)` says the bus is away (route-publisher, `berth`). */
  | { readonly kind: 'local' }
  /** The last return of our own heartbeat, node `self`'s, through the bus (node-agent). */
  | { readonly kind: 'echo'; readonly self: string };

/** Why a node's agent is not healthy: never heard from, heard from too long ago, or it said unready. */
export type HealthReason = 'noHeartbeat' | 'staleHeartbeat' | 'agentUnready';

interface Beat {
  readonly ready: boolean;
  readonly interfaces: readonly string[];
  /** Local clock (ms) at receipt. */
  readonly seenAt: number;
}

/**
 * Which node-agents are healthy, as one reader of the bus can tell: the one view that
 * route-publisher, node-agent and `berth` judge heartbeats with, differing only in their clock.
 */
export class NodeHealth {
  readonly #beats = new Map<string, Beat>();
  /** Judged as of this moment while set: when the bus went (local clock), our last echo (echo clock). */
  #asOf: number | undefined;

  /**
   * `returnGraceMs`: after a gap, how much longer than the timeout the nodes that were healthy
   * have to be heard again, since they find the bus again no sooner than we do (the spread of
   * the clients' reconnects).
   */
  constructor(
    readonly timeoutMs: number,
    private readonly clock: HealthClock,
    private readonly returnGraceMs = 0,
  ) {}

  /**
   * Records a heartbeat (or its deletion); `replayed` ones come from the bus's stored state and
   * count from when they were written, never from the future, nor from before what we knew. Returns false when no judgement
   * changed (say, a fresh heartbeat saying the same as the last), so no decision needs redoing.
   */
  record(
    node: string,
    beat: Pick<NodeHealthSnapshot, 'ready' | 'interfaces' | 'at'> | undefined,
    now: number,
    replayed: boolean,
  ): boolean {
    if (beat === undefined) return this.#beats.delete(node);
    const echo = this.clock.kind === 'echo' && node === this.clock.self && !replayed;
    // Our own echo moves the clock itself: anyone may have turned stale.
    if (echo) this.#echo(now);
    const before = this.#beats.get(node);
    // Read from the stored state, a heartbeat adds evidence of life but never takes any away: the
    // view may already know better (a live beat, or the grace a thaw gave).
    const stored = Math.max(before?.seenAt ?? -Infinity, Math.min(now, beat.at));
    const after = { ready: beat.ready, interfaces: beat.interfaces, seenAt: replayed ? stored : now };
    this.#beats.set(node, after);
    const judgedAt = this.#judgedAt(now);
    return (
      echo ||
      before === undefined ||
      judgedAt === undefined ||
      before.ready !== after.ready ||
      this.#fresh(before, judgedAt) !== this.#fresh(after, judgedAt) ||
      before.interfaces.join() !== after.interfaces.join()
    );
  }

  /** Local clock: the bus connection went (judging stops) or came back. */
  connection(connected: boolean, now: number): void {
    if (this.clock.kind !== 'local') return;
    if (!connected) this.#asOf ??= now;
    else if (this.#asOf !== undefined) {
      this.#thaw(this.#asOf, now);
      this.#asOf = undefined;
    }
  }

  /** Our view of the bus is as it is now: connected (local clock), our own heartbeats returning (echo). */
  current(now: number): boolean {
    if (this.clock.kind === 'local') return this.#asOf === undefined;
    return this.#asOf !== undefined && now - this.#asOf < this.timeoutMs;
  }

  /** There is a view at all: always on the local clock, once our own heartbeat came back on the echo clock. */
  get started(): boolean {
    return this.clock.kind === 'local' || this.#asOf !== undefined;
  }

  /** Healthy nodes with the interfaces their agents said they answer on. */
  healthy(now: number): Map<string, readonly string[]> {
    const healthy = new Map<string, readonly string[]>();
    const judgedAt = this.#judgedAt(now);
    if (judgedAt === undefined) return healthy;
    for (const [node, beat] of this.#beats)
      if (beat.ready && this.#fresh(beat, judgedAt)) healthy.set(node, beat.interfaces);
    return healthy;
  }

  /** Why `node` is not healthy; undefined when it is. */
  reason(node: string, now: number): HealthReason | undefined {
    const beat = this.#beats.get(node);
    if (beat === undefined) return 'noHeartbeat';
    const judgedAt = this.#judgedAt(now);
    if (judgedAt === undefined || !this.#fresh(beat, judgedAt)) return 'staleHeartbeat';
    return beat.ready ? undefined : 'agentUnready';
  }

  /**
   * When the next healthy node turns stale (local clock, ms), or undefined when none will
   * before the judging clock moves on its own (frozen, or the echo clock).
   */
  nextExpiry(now: number): number | undefined {
    if (this.clock.kind !== 'local' || this.#asOf !== undefined) return undefined;
    let next: number | undefined;
    for (const beat of this.#beats.values()) {
      const expires = beat.seenAt + this.timeoutMs;
      if (beat.ready && expires > now && (next === undefined || expires < next)) next = expires;
    }
    return next;
  }

  #judgedAt(now: number): number | undefined {
    return this.clock.kind === 'local' ? (this.#asOf ?? now) : this.#asOf;
  }

  #fresh(beat: Beat, judgedAt: number): boolean {
    return judgedAt - beat.seenAt < this.timeoutMs;
  }

  #echo(now: number): void {
    const previous = this.#asOf;
    if (previous !== undefined && now - previous >= this.timeoutMs) this.#thaw(previous, now);
    this.#asOf = now;
  }

  /**
   * Back after a gap: whoever was healthy when we lost sight (or was heard from meanwhile) gets
   * a full timeout and the grace from now to show up again, since their heartbeats could not
   * reach us. A heartbeat read on the way back says little: its time may be from the outage,
   * when it was written into a buffer rather than the bus.
   */
  #thaw(frozenAt: number, now: number): void {
    for (const [node, beat] of this.#beats)
      if (beat.ready && this.#fresh(beat, frozenAt))
        this.#beats.set(node, { ...beat, seenAt: now + this.returnGraceMs });
  }
}
