import type { NodeHealthSnapshot } from '@berth/contracts';
import type { Logger, Readiness } from '@berth/runtime';
import type { NodeAgentMetrics } from './metrics.js';
import type { Link } from './layer2/link.js';

export interface HeartbeatOptions {
  readonly node: string;
  readonly bucket: { put(snapshot: NodeHealthSnapshot): Promise<unknown>; delete(key: string): Promise<void> };
  /** Sends a heartbeat live (core NATS); false when it could not go out. */
  readonly send: (snapshot: NodeHealthSnapshot) => boolean;
  readonly links: () => Iterable<Link>;
  /**
   * Whether the agent has read the bus and could take a VIP over. Until then it says it is not
   * ready: an owner handing a VIP over to it would otherwise stop answering before it starts.
   */
  readonly synced: () => boolean;
  readonly intervalMs: number;
  /** The health timeout: a heartbeat still unwritten after it can keep nobody alive. */
  readonly timeoutMs: number;
  readonly metrics: NodeAgentMetrics;
  readonly logger: Logger;
  readonly readiness: Readiness;
}

/**
 * Says on the bus, several times a second, whether this node can answer: ready when its raw
 * sockets are open on at least one interface that is up. Each heartbeat goes out live (what the
 * others judge liveness by) and is stored in its bucket (what a newcomer reads). One stored write
 * is in flight at a time, so a stalled bus never piles them up, except that one in flight for
 * longer than the health timeout no longer holds up the next: a write caught by an outage waits
 * for NATS's reply until its own timeout (5 s), while the bus is back long before. `stop` says
 * live that this node no longer answers and removes its stored heartbeat, so that on a clean
 * shutdown the others take over at once instead of after the timeout.
 */
export function startHeartbeat(options: HeartbeatOptions): { stop(): Promise<void> } {
  const { node, metrics, logger, readiness } = options;
  let inFlight: { readonly done: Promise<void>; readonly since: number } | undefined;
  const pending = new Set<Promise<void>>();
  let seq = 0;
  let lastProblem = '';
  const snapshotOf = (ready: boolean, interfaces: readonly string[]): NodeHealthSnapshot => ({
    v: 1,
    key: node,
    revision: String(++seq),
    at: Date.now(),
    ready,
    interfaces: [...interfaces],
  });
  const store = (snapshot: NodeHealthSnapshot) => {
    const now = Date.now();
    if (inFlight !== undefined && now - inFlight.since < options.timeoutMs) return;
    const done: Promise<void> = options.bucket
      .put(snapshot)
      .then(
        () => {
          metrics.heartbeats.inc({ channel: 'stored', result: 'ok' });
        },
        (error: unknown) => {
          metrics.heartbeats.inc({ channel: 'stored', result: 'failed' });
          logger.debug({ err: error, node }, 'heartbeat not stored');
        },
      )
      .finally(() => {
        pending.delete(done);
        if (inFlight?.done === done) inFlight = undefined;
      });
    pending.add(done);
    inFlight = { since: now, done };
  };
  const beat = () => {
    const interfaces = [...options.links()].filter((link) => link.usable()).map((link) => link.name);
    const usable = interfaces.length > 0;
    const problem = usable ? '' : 'no usable interface with raw sockets open';
    if (problem !== lastProblem) {
      if (usable) readiness.ready('interfaces');
      else readiness.notReady('interfaces', problem);
      logger[usable ? 'info' : 'warn']({ node, interfaces }, usable ? 'answering on interfaces' : problem);
      lastProblem = problem;
    }
    const snapshot = snapshotOf(usable && options.synced(), interfaces);
    metrics.heartbeats.inc({ channel: 'live', result: options.send(snapshot) ? 'ok' : 'failed' });
    store(snapshot);
  };
  const timer = setInterval(beat, options.intervalMs);
  beat();
  return {
    async stop() {
      clearInterval(timer);
      options.send(snapshotOf(false, []));
      await Promise.all(pending);
      await options.bucket.delete(node).catch((error: unknown) => {
        logger.warn({ err: error, node }, 'could not remove the heartbeat; others take over after the timeout');
      });
    },
  };
}
