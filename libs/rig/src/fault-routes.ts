import { setTimeout as sleep } from 'node:timers/promises';
import type { RigLab } from './lab.js';

/** What the lab router's kernel held for each BGP VIP while a fault happened. */
export interface RouteWatchReport {
  readonly samples: number;
  /** Per VIP, how long (ms) the router had no route for it: traffic to it went nowhere. */
  readonly blackholeMs: ReadonlyMap<string, number>;
  /** Per VIP, how long (ms) its route's next hops were other than expected. */
  readonly wrongHopsMs: ReadonlyMap<string, number>;
  /**
   * When every VIP had its expected route for good (epoch ms of the first sample after the last
   * wrong one): undefined when it always had, Infinity when it still had not at the end.
   */
  readonly settledAt: number | undefined;
}

export interface RouteWatch {
  stop(): Promise<RouteWatchReport>;
}

/**
 * Samples the router's routes every `everyMs` until stopped (or for `maxMs` at most), comparing
 * each VIP's next hops with `expected` (VIP → sorted next hops). Each interval between two
 * samples counts as the first one found it.
 */
export function watchRoutes(
  lab: RigLab,
  expected: ReadonlyMap<string, readonly string[]>,
  { everyMs = 50, maxMs = 300_000 } = {},
): RouteWatch {
  const blackholeMs = new Map([...expected.keys()].map((vip) => [vip, 0]));
  const wrongHopsMs = new Map(blackholeMs);
  const started = Date.now();
  let samples = 0;
  // The time of the first sample after the last wrong one.
  let lastBadAt: number | undefined;
  const state = { stopping: false };
  const running = (async () => {
    let previous: { at: number; missing: string[]; wrong: string[] } | undefined;
    while (!state.stopping && Date.now() - started < maxMs) {
      const routes = await lab.routerRoutes();
      const at = Date.now();
      samples++;
      if (previous !== undefined) {
        const dt = at - previous.at;
        for (const vip of previous.missing) blackholeMs.set(vip, (blackholeMs.get(vip) ?? 0) + dt);
        for (const vip of previous.wrong) wrongHopsMs.set(vip, (wrongHopsMs.get(vip) ?? 0) + dt);
        if (previous.missing.length + previous.wrong.length > 0) lastBadAt = at;
      }
      const missing: string[] = [];
      const wrong: string[] = [];
      for (const [vip, hops] of expected) {
        const got = routes.get(vip);
        if (got === undefined) missing.push(vip);
        else if (got.join() !== hops.join()) wrong.push(vip);
      }
      previous = { at, missing, wrong };
      await sleep(everyMs);
    }
    return previous;
  })();
  return {
    async stop() {
      state.stopping = true;
      const last = await running;
      const unsettled = last !== undefined && last.missing.length + last.wrong.length > 0;
      return {
        samples,
        blackholeMs,
        wrongHopsMs,
        settledAt: unsettled ? Infinity : lastBadAt,
      };
    },
  };
}
