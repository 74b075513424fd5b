/** The last heartbeat of a node's agent: whether it said ready, and when it arrived here. */
export interface Heartbeat {
  readonly ready: boolean;
  /** Local clock (ms) when it was received, so clocks of other hosts never matter. */
  readonly seenAt: number;
}

/** Nodes whose agent said ready within the last `timeoutMs`. */
export function healthyNodes(heartbeats: ReadonlyMap<string, Heartbeat>, now: number, timeoutMs: number): Set<string> {
  const healthy = new Set<string>();
  for (const [node, beat] of heartbeats) if (beat.ready && now - beat.seenAt < timeoutMs) healthy.add(node);
  return healthy;
}

/** When the next healthy node turns stale (ms, local clock), or undefined when none will. */
export function nextExpiry(
  heartbeats: ReadonlyMap<string, Heartbeat>,
  now: number,
  timeoutMs: number,
): number | undefined {
  let next: number | undefined;
  for (const beat of heartbeats.values()) {
    const expires = beat.seenAt + timeoutMs;
    if (beat.ready && expires > now && (next === undefined || expires < next)) next = expires;
  }
  return next;
}
