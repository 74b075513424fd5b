import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContractViolationError } from '@berth/bus';
import { createLogger } from '@berth/runtime';
import { Outbox, type SnapshotSink } from './outbox.js';

interface Snap {
  key: string;
  n: number;
}

/** Records writes; can be told to fail, like a bus that is down. */
class RecordingSink implements SnapshotSink<Snap> {
  readonly name = 'test';
  readonly writes: string[] = [];
  readonly held = new Map<string, Snap>();
  failing = false;
  async current() {
    await sleep(1);
    return new Map(this.held);
  }
  async put(s: Snap) {
    await sleep(1);
    if (this.failing) throw new Error('bus down');
    this.writes.push(`put ${s.key}=${s.n}`);
    this.held.set(s.key, s);
  }
  async delete(key: string) {
    await sleep(1);
    if (this.failing) throw new Error('bus down');
    this.writes.push(`delete ${key}`);
    this.held.delete(key);
  }
}

const logger = createLogger('test', 'silent');

describe('outbox - coalescing writes', () => {
  it('writes only the latest state of a key, and nothing when the content is unchanged', async () => {
    const sink = new RecordingSink();
    const outbox = new Outbox(sink, logger, { concurrency: 1 });
    outbox.set('a', { key: 'a', n: 1 });
    outbox.set('b', { key: 'b', n: 1 });
    outbox.set('b', { key: 'b', n: 2 });
    await outbox.drained();
    outbox.set('a', { key: 'a', n: 1 });
    outbox.set('b', undefined);
    outbox.set('c', undefined);
    await outbox.drained();
    // c was never written, so there is nothing to tombstone.
    assert.deepEqual(sink.writes, ['put a=1', 'put b=2', 'delete b']);
  });

  it('keeps failed writes pending while the bus is down and writes them when it is back', async () => {
    const sink = new RecordingSink();
    const outbox = new Outbox(sink, logger, { concurrency: 4 });
    sink.failing = true;
    for (let i = 0; i < 10; i++) outbox.set(`k${i}`, { key: `k${i}`, n: i });
    await sleep(50);
    assert.equal(outbox.pending, 10);
    sink.failing = false;
    await outbox.drained();
    assert.equal(sink.writes.length, 10);
    outbox.stop();
  });

  it('a new leader writes only what differs from the bucket, and prunes once the cluster is listed', async () => {
    const sink = new RecordingSink();
    for (const [key, n] of [
      ['stale', 1],
      ['same', 1],
      ['old', 1],
    ] as const)
      sink.held.set(key, { key, n });
    let leading = false;
    const outbox = new Outbox(sink, logger, { concurrency: 2, active: () => leading });
    outbox.set('same', { key: 'same', n: 1 });
    outbox.set('old', { key: 'old', n: 2 });
    outbox.set('new', { key: 'new', n: 1 });
    await sleep(10);
    assert.deepEqual(sink.writes, [], 'a standby writes nothing');
    leading = true;
    await outbox.takeOver();
    await outbox.drained();
    assert.deepEqual(sink.writes.sort(), ['put new=1', 'put old=2'], 'nothing pruned before the first full list');
    outbox.prune();
    await outbox.drained();
    assert.deepEqual(sink.writes.sort(), ['delete stale', 'put new=1', 'put old=2']);
  });

  it('does not retry a snapshot that breaks its contract, and keeps writing the others', async () => {
    const sink = new RecordingSink();
    const put = sink.put.bind(sink);
    let refusals = 0;
    sink.put = async (s: Snap) => {
      if (s.key === 'bad') {
        refusals++;
        throw new ContractViolationError('Snap', ['/n: too big']);
      }
      return put(s);
    };
    const outbox = new Outbox(sink, logger, { concurrency: 2 });
    outbox.set('bad', { key: 'bad', n: 1 });
    outbox.set('good', { key: 'good', n: 1 });
    await outbox.drained();
    await sleep(1100);
    assert.equal(refusals, 1, 'tried once, not every second');
    assert.deepEqual(sink.writes, ['put good=1']);
  });

  it('rewriteAll writes every desired snapshot again, and no tombstones', async () => {
    const sink = new RecordingSink();
    const outbox = new Outbox(sink, logger, { concurrency: 2 });
    outbox.set('a', { key: 'a', n: 1 });
    outbox.set('gone', { key: 'gone', n: 1 });
    outbox.set('gone', undefined);
    await outbox.drained();
    sink.writes.length = 0;
    outbox.rewriteAll();
    await outbox.drained();
    assert.deepEqual(sink.writes, ['put a=1']);
  });
});
