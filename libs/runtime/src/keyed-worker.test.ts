import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedWorker } from './keyed-worker.js';

describe('keyed worker', () => {
  it('runs urgent keys before a backlog, never one key twice at once, and retries failures', async () => {
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    let failOnce = true;
    const worker = new KeyedWorker(
      async (key) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(2);
        running--;
        if (key === 'flaky' && failOnce) {
          failOnce = false;
          throw new Error('transient');
        }
        order.push(key);
      },
      { concurrency: 1, retryMs: 5, onError: () => 'retry' },
    );
    worker.touchAll(['b1', 'b2', 'b3', 'b4']);
    worker.touch('now', true);
    worker.touch('b2');
    worker.touch('flaky');
    await worker.drained();
    assert.equal(maxRunning, 1);
    assert.deepEqual(order.slice(0, 2), ['b1', 'now'], 'the urgent key jumps the backlog');
    assert.deepEqual(order.filter((k) => k === 'b2').length, 1, 'a pending key is coalesced');
    assert.ok(order.includes('flaky'), 'a failed key is retried');
  });
});
