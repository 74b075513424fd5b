import type { NatsConnection } from 'nats';
import { SnapshotSchemas, validator, type NodeHealthSnapshot } from '@berth/contracts';
import type { Logger } from '@berth/runtime';
import { ContractViolationError } from './errors.js';
import { HeartbeatSubjects } from './topology.js';

const check = validator(SnapshotSchemas.nodeHealth);

/**
 * Node-agents' heartbeats on core NATS, beside their copies in the node-health bucket. A core
 * message goes through whichever server of a cluster is up, at once; a bucket write waits while
 * its stream elects a leader (seconds, after the server that led it is lost), and a reader that
 * judged liveness by those writes would see every node fall silent together. So liveness is
 * judged by these; the bucket is the stored state a newcomer (or `berth`) reads.
 */
export class HeartbeatChannel {
  #connected = true;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    private readonly countInvalid: (source: string) => void,
  ) {}

  /** The connection dropped or came back. */
  connected(up: boolean): void {
    this.#connected = up;
  }

  /**
   * Sends one heartbeat; nothing while disconnected (the client would queue it, and a heartbeat
   * delivered late says nothing true). Returns whether it went out.
   */
  send(snapshot: NodeHealthSnapshot): boolean {
    const result = check.check(snapshot);
    if (!result.ok) throw new ContractViolationError(check.schemaId, result.problems);
    if (!this.#connected || this.nc.isClosed()) return false;
    this.nc.publish(HeartbeatSubjects.of(snapshot.key), JSON.stringify(snapshot));
    return true;
  }

  /**
   * Every node's heartbeats as they arrive (this process's own included) until `signal` aborts;
   * the subscription follows the connection through reconnects. Heartbeats that break their
   * contract are logged, counted and skipped.
   */
  async *receive(signal: AbortSignal): AsyncIterable<NodeHealthSnapshot> {
    if (signal.aborted) return;
    const subscription = this.nc.subscribe(HeartbeatSubjects.all);
    const stop = () => subscription.unsubscribe();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const message of subscription) {
        const decoded = check.decode(message.data);
        // A node speaks only on its own subject, which is what permissions on the bus can bind.
        if (decoded.ok && message.subject === HeartbeatSubjects.of(decoded.value.key)) {
          yield decoded.value;
          continue;
        }
        const problems = decoded.ok
          ? [`the heartbeat of ${decoded.value.key} came on another node's subject`]
          : decoded.problems;
        this.countInvalid(HeartbeatSubjects.prefix);
        this.logger.warn({ subject: message.subject, problems }, 'dropped a heartbeat that breaks its contract');
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
  }
}
