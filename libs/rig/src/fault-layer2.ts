/** One answer to a layer-2 probe: who (MAC) said it has `ip`, and when (ms). */
export interface Layer2Answer {
  readonly at: number;
  readonly ip: string;
  readonly mac: string;
}

/** How each layer-2 VIP was answered (ARP, NDP) while a fault happened. */
export interface Layer2WatchReport {
  /** Per VIP, the longest time (ms) no answer came, less the interval between requests. */
  readonly gapMs: ReadonlyMap<string, number>;
  /** Per VIP, how often the answering MAC changed (a takeover, or two nodes answering in turn). */
  readonly macChanges: ReadonlyMap<string, number>;
  /** Per VIP, the MACs that answered. */
  readonly macs: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Asks for VIPs until stopped; made by whoever can send ARP and NDP (node-agent's test prober). */
export interface Layer2Watch {
  stop(): Promise<Layer2WatchReport>;
}

/** Starts watching these VIPs. */
export type Layer2Watcher = (vips: readonly string[]) => Promise<Layer2Watch>;

/** What the answers to requests sent every `intervalMs` from `started` to `stopped` say, per VIP. */
export function summarizeLayer2(
  vips: readonly string[],
  answers: readonly Layer2Answer[],
  window: { started: number; stopped: number; intervalMs: number },
): Layer2WatchReport {
  const gapMs = new Map<string, number>();
  const macChanges = new Map<string, number>();
  const macs = new Map<string, Set<string>>();
  for (const vip of vips) {
    const mine = answers.filter((a) => a.ip === vip);
    const times = [window.started, ...mine.map((a) => a.at), window.stopped];
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] ?? 0) - (times[i - 1] ?? 0));
    gapMs.set(vip, Math.max(0, gap - window.intervalMs));
    macChanges.set(vip, mine.filter((a, i) => i > 0 && a.mac !== mine[i - 1]?.mac).length);
    macs.set(vip, new Set(mine.map((a) => a.mac)));
  }
  return { gapMs, macChanges, macs };
}
