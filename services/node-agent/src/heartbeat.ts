import type { NodeHealthSnapshot } from '@berth/contracts';
import type { Logger, Readiness } from '@berth/runtime';
import type { NodeAgentMetrics } from './metrics.js';
import type { Link } from './layer2/link.js';

export interface HeartbeatOptions {
  readonly node: string;
  readonly bucket: { put(snapshot: NodeHealthSnapshot): Promise<unknown>; delete(key: string): Promise<void> };
  readonly links: () => Iterable<Link>;
  readonly intervalMs: number;
  /** The health timeout: a heartbeat still unwritten after it can keep nobody alive. */
  readonly timeoutMs: number;
  readonly metrics: NodeAgentMetrics;
  readonly logger: Logger;
  readonly readiness: Readiness;
}

/**
 * Says on the bus, several times a second, whether this node can answer: ready when its raw
 * sockets are open on at least one interface that is up. One heartbeat is in flight at a time,
 * so a stalled bus never piles them up, except that one in flight for longer than the health
 * timeout no longer holds up the next: a write caught by an outage waits for NATS's reply until
 * its own timeout (5 s), while the bus is back long before and the others need to hear from us
 * within the timeout. `stop` removes this node's heartbeat, so that on a clean shutdown the
 * others take over at once instead of after the timeout.
 */
export function startHeartbeat(options: HeartbeatOptions): { stop(): Promise<void> } {
  const { node, metrics, logger, readiness } = options;
  let inFlight: { readonly done: Promise<void>; readonly since: number } | undefined;
  const pending = new Set<Promise<void>>();
  let seq = 0;
  let lastProblem = '';
  const beat = async () => {
    const interfaces = [...options.links()].filter((link) => link.usable()).map((link) => link.name);
    const ready = interfaces.length > 0;
    const problem = ready ? '' : 'no usable interface with raw sockets open';
    if (problem !== lastProblem) {
      if (ready) readiness.ready('interfaces');
      else readiness.notReady('interfaces', problem);
      logger[ready ? 'info' : 'warn']({ node, interfaces }, ready ? 'answering on interfaces' : problem);
      lastProblem = problem;
    }
    try {
      await options.bucket.put({ v: 1, key: node, revision: String(++seq), at: Date.now(), ready, interfaces });
      metrics.heartbeats.inc({ result: 'ok' });
    } catch (error) {
      metrics.heartbeats.inc({ result: 'failed' });
      logger.debug({ err: error, node }, 'heartbeat not written');
    }
  };
  const tick = () => {
    const now = Date.now();
    if (inFlight !== undefined && now - inFlight.since < options.timeoutMs) return;
    const current = {
      since: now,
      done: beat().finally(() => {
        pending.delete(current.done);
        if (inFlight === current) inFlight = undefined;
      }),
    };
    pending.add(current.done);
    inFlight = current;
  };
  const timer = setInterval(tick, options.intervalMs);
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      await options.bucket.delete(node).catch((error: unknown) => {
        logger.warn({ err: error, node }, 'could not remove the heartbeat; others take over after the timeout');
      });
    },
  };
}
