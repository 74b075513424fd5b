import type { NodeHealthSnapshot } from '@berth/contracts';

/**
 * Whose heartbeat moves the clock node health is judged by: `self`'s own, coming back through the
 * bus (node-agent), or anyone's (route-publisher, `berth`). Either way a heartbeat counts from when
 * it arrived here, so other hosts' clocks never matter; and while no such heartbeat arrives the
 * judgement is frozen, since silence is then explained by the bus (down, or this reader cut off)
 * rather than by every node dying at once.
 */
export interface HealthClock {
  readonly self?: string;
}

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
  /** The last arrival of a heartbeat that moves the clock: everything is judged as of then. */
  #asOf: number | undefined;

  /**
   * `returnGraceMs`: after a gap, how much longer than the timeout the nodes that were healthy
   * have to be heard again, since they find the bus again no sooner than we do (the spread of
   * the clients' reconnects).
   */
  constructor(
    readonly timeoutMs: number,
    private readonly clock: HealthClock = {},
    private readonly returnGraceMs = 0,
  ) {}

  /**
   * Records a heartbeat (or its deletion); `replayed` ones come from the bus's stored state and
   * count from when they were written, never from the future, nor from before what we knew; they
   * never move the clock. Returns false when no judgement changed (say, a fresh heartbeat saying
   * the same as the last), so no decision needs redoing.
   */
  record(
    node: string,
    beat: Pick<NodeHealthSnapshot, 'ready' | 'interfaces' | 'at'> | undefined,
    now: number,
    replayed: boolean,
  ): boolean {
    if (beat === undefined) return this.#beats.delete(node);
    const judgedBefore = this.#asOf;
    const moves = !replayed && (this.clock.self === undefined || node === this.clock.self);
    const thawed = moves && this.#move(now);
    const before = this.#beats.get(node);
    // Read from the stored state, a heartbeat adds evidence of life but never takes any away: the
    // view may already know better (a live beat, or the grace a thaw gave).
    const stored = Math.max(before?.seenAt ?? -Infinity, Math.min(now, beat.at));
    const after = { ready: beat.ready, interfaces: beat.interfaces, seenAt: replayed ? stored : now };
    this.#beats.set(node, after);
    const judgedAt = this.#asOf;
    if (judgedAt === undefined) return false;
    return (
      thawed ||
      judgedBefore === undefined ||
      (moves && this.#expiredBetween(judgedBefore, judgedAt)) ||
      before === undefined ||
      before.ready !== after.ready ||
      this.#fresh(before, judgedAt) !== this.#fresh(after, judgedAt) ||
      before.interfaces.join() !== after.interfaces.join()
    );
  }

  /** Heartbeats that move the clock arrive: the view is as it is now, not frozen. */
  current(now: number): boolean {
    return this.#asOf !== undefined && now - this.#asOf < this.timeoutMs;
  }

  /** There is a view at all: a heartbeat that moves the clock has arrived. */
  get started(): boolean {
    return this.#asOf !== undefined;
  }

  /** Healthy nodes with the interfaces their agents said they answer on. */
  healthy(): Map<string, readonly string[]> {
    const healthy = new Map<string, readonly string[]>();
    const judgedAt = this.#asOf;
    if (judgedAt === undefined) return healthy;
    for (const [node, beat] of this.#beats)
      if (beat.ready && this.#fresh(beat, judgedAt)) healthy.set(node, beat.interfaces);
    return healthy;
  }

  /** Why `node` is not healthy; undefined when it is. */
  reason(node: string): HealthReason | undefined {
    const beat = this.#beats.get(node);
    if (beat === undefined) return 'noHeartbeat';
    const judgedAt = this.#asOf;
    if (judgedAt === undefined || !this.#fresh(beat, judgedAt)) return 'staleHeartbeat';
    return beat.ready ? undefined : 'agentUnready';
  }

  #fresh(beat: Beat, judgedAt: number): boolean {
    return judgedAt - beat.seenAt < this.timeoutMs;
  }

  /** Whether a ready node turned stale as the clock moved from `from` to `to`. */
  #expiredBetween(from: number, to: number): boolean {
    for (const beat of this.#beats.values())
      if (beat.ready && this.#fresh(beat, from) && !this.#fresh(beat, to)) return true;
    return false;
  }

  /** Moves the clock to `now`; after a gap of a timeout or more, thaws first. Returns whether it thawed. */
  #move(now: number): boolean {
    const previous = this.#asOf;
    this.#asOf = now;
    if (previous === undefined || now - previous < this.timeoutMs) return false;
    this.#thaw(previous, now);
    return true;
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
