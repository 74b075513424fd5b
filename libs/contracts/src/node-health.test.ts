import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healthyNodes, nextExpiry } from './node-health.js';

describe('node health', () => {
  it('a node is healthy while its last heartbeat said ready and is younger than the timeout', () => {
    const beats = new Map([
      ['fresh', { ready: true, seenAt: 1000 }],
      ['stale', { ready: true, seenAt: 0 }],
      ['unready', { ready: false, seenAt: 1000 }],
    ]);
    assert.deepEqual([...healthyNodes(beats, 1500, 1000)], ['fresh']);
    assert.deepEqual([...healthyNodes(beats, 2000, 1000)], []);
    assert.equal(nextExpiry(beats, 1500, 1000), 2000);
    assert.equal(nextExpiry(beats, 2000, 1000), undefined);
  });
});
