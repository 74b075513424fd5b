/** A node's last heartbeat as this agent received it. */
interface Beat {
  readonly ready: boolean;
  readonly interfaces: readonly string[];
  /** Local clock (ms) at receipt, so other hosts' clocks never matter. */
  readonly seenAt: number;
}

/**
 * Which agents are healthy, as this agent can tell from the bus. Our own heartbeat coming back
 * is the clock: others are judged against the moment we last saw ourselves, so when our own
 * link to the bus stalls or breaks, everyone else's silence is explained by it and nobody is
 * declared dead. The view is *current* while our own heartbeats keep returning.
 */
export class HealthView {
  readonly #beats = new Map<string, Beat>();
  #echoAt: number | undefined;

  constructor(
    private readonly self: string,
    private readonly timeoutMs: number,
  ) {}

  /** Records a heartbeat (or its deletion); `replayed` ones come from the bus's stored state. */
  record(
    node: string,
    beat: { ready: boolean; interfaces: readonly string[]; at: number } | undefined,
    now: number,
    replayed: boolean,
  ): void {
    if (beat === undefined) {
      this.#beats.delete(node);
      return;
    }
    const seenAt = replayed ? Math.min(now, beat.at) : now;
    if (node === this.self && !replayed) this.#echo(now);
    this.#beats.set(node, { ready: beat.ready, interfaces: beat.interfaces, seenAt });
  }

  #echo(now: number): void {
    const previous = this.#echoAt;
    if (previous !== undefined && now - previous >= this.timeoutMs) {
      // Back after a gap: whoever was healthy when we lost sight gets a full timeout from now
      // to show up again, since their heartbeats could not reach us meanwhile.
      for (const [node, beat] of this.#beats)
        if (beat.ready && previous - beat.seenAt < this.timeoutMs) this.#beats.set(node, { ...beat, seenAt: now });
    }
    this.#echoAt = now;
  }

  /** Our own heartbeats are coming back: the view reflects the bus as it is now. */
  current(now: number): boolean {
    return this.#echoAt !== undefined && now - this.#echoAt < this.timeoutMs;
  }

  /** Whether this agent has ever seen its own heartbeat, i.e. has a view at all. */
  get started(): boolean {
    return this.#echoAt !== undefined;
  }

  /** Healthy nodes with the interfaces they answer on, as of our last own heartbeat. */
  healthy(): Map<string, readonly string[]> {
    const healthy = new Map<string, readonly string[]>();
    const asOf = this.#echoAt;
    if (asOf === undefined) return healthy;
    for (const [node, beat] of this.#beats)
      if (beat.ready && asOf - beat.seenAt < this.timeoutMs) healthy.set(node, beat.interfaces);
    return healthy;
  }
}
