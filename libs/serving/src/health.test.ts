import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NodeHealth, type HealthClock } from './health.js';

const beat = (ready = true, interfaces = ['eth0']) => ({ ready, interfaces, at: 0 });
const names = (view: NodeHealth, now: number) => [...view.healthy(now).keys()].sort();
const LOCAL: HealthClock = { kind: 'local' };
const echoOf = (self: string): HealthClock => ({ kind: 'echo', self });

describe('NodeHealth on the local clock (route-publisher, berth)', () => {
  it('a node is healthy while its last heartbeat said ready and is younger than the timeout', () => {
    const view = new NodeHealth(1000, LOCAL);
    view.record('fresh', beat(), 1000, false);
    view.record('stale', beat(), 0, false);
    view.record('unready', beat(false), 1000, false);
    assert.deepEqual(names(view, 1500), ['fresh']);
    assert.deepEqual(names(view, 2000), []);
    assert.deepEqual(
      ['fresh', 'stale', 'unready', 'unknown'].map((n) => view.reason(n, 1500)),
      [undefined, 'staleHeartbeat', 'agentUnready', 'noHeartbeat'],
    );
    assert.equal(view.nextExpiry(1500), 2000);
    assert.equal(view.nextExpiry(2000), undefined);
  });

  it('says when a heartbeat changes nothing that is judged, so no pass is needed', () => {
    const view = new NodeHealth(1000, LOCAL);
    assert.equal(view.record('a', beat(), 0, false), true, 'new');
    assert.equal(view.record('a', beat(), 100, false), false, 'the same, fresh');
    assert.equal(view.record('a', beat(false), 200, false), true, 'unready now');
    assert.equal(view.record('a', beat(false), 1300, false), true, 'was stale');
    assert.equal(view.record('a', beat(false, ['eth1']), 1400, false), true, 'other interfaces');
    assert.equal(view.record('a', undefined, 1500, false), true, 'gone');
    assert.equal(view.record('a', undefined, 1600, false), false, 'already gone');
  });

  it('while the bus is away the judgement stops; back, the healthy get a full timeout', () => {
    const view = new NodeHealth(1000, LOCAL);
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 500, false);
    view.connection(false, 600);
    assert.equal(view.current(600), false);
    assert.deepEqual(names(view, 5000), ['a', 'b'], 'as of the moment the bus went');
    assert.equal(view.nextExpiry(5000), undefined, 'nothing expires while frozen');
    view.connection(true, 5000);
    assert.equal(view.current(5000), true);
    view.record('b', beat(), 5100, false);
    assert.deepEqual(names(view, 5999), ['a', 'b']);
    assert.deepEqual(names(view, 6000), ['b'], 'a never came back');
  });

  it('back after a gap, the healthy and those heard from meanwhile get the timeout and the grace', () => {
    const view = new NodeHealth(500, LOCAL, 300);
    view.record('a', beat(), 0, false);
    view.record('gone', beat(), -1000, false);
    view.connection(false, 100);
    // Read again on the way back: b's heartbeat was written during the outage, into a buffer.
    view.record('b', { ready: true, interfaces: [], at: 2000 }, 4000, true);
    view.connection(true, 4000);
    assert.deepEqual(names(view, 4000), ['a', 'b'], 'gone was stale before the bus went');
    assert.deepEqual(names(view, 4799), ['a', 'b']);
    assert.equal(view.nextExpiry(4000), 4800);
    assert.deepEqual(names(view, 4800), [], 'a and b had the timeout and the grace to come back');
  });

  it('a heartbeat read again from the stored state never makes a node look older than the view knows', () => {
    const view = new NodeHealth(500, echoOf('a'), 300);
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    // Back after a gap: our own heartbeat returns first and thaws b, then b's stored heartbeat,
    // written before the gap, is read again.
    view.record('a', beat(), 5000, false);
    view.record('b', { ready: true, interfaces: ['eth0'], at: 0 }, 5001, true);
    view.record('a', beat(), 5700, false);
    assert.deepEqual(names(view, 5700), ['a', 'b'], 'b keeps the timeout and the grace from the thaw');
  });

  it('replayed heartbeats count from when they were written, never from the future', () => {
    const view = new NodeHealth(500, LOCAL);
    view.record('b', { ready: true, interfaces: [], at: 1000 }, 900, true);
    view.record('c', { ready: true, interfaces: [], at: 100 }, 900, true);
    assert.deepEqual(names(view, 900), ['b']);
    assert.deepEqual(names(view, 1399), ['b']);
    assert.deepEqual(names(view, 1400), []);
  });
});

describe('NodeHealth on the echo clock (node-agent)', () => {
  it('has no view, and so no healthy node, until its own heartbeat returns', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('b', beat(), 0, false);
    assert.equal(view.started, false);
    assert.deepEqual(names(view, 0), []);
    assert.equal(view.reason('b', 0), 'staleHeartbeat');
    assert.equal(view.current(0), false);
    view.record('a', beat(), 10, false);
    assert.deepEqual(names(view, 10), ['a', 'b']);
    assert.equal(view.current(10), true);
  });

  it('a node whose heartbeats stop is out once our own have gone on for the timeout', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    view.record('c', beat(false), 0, false);
    assert.deepEqual(names(view, 0), ['a', 'b'], 'an unready agent is not healthy');
    for (let t = 100; t <= 400; t += 100) view.record('a', beat(), t, false);
    assert.deepEqual(names(view, 450), ['a', 'b']);
    assert.deepEqual(names(view, 10_000), ['a', 'b'], 'the local clock alone moves nothing');
    view.record('a', beat(), 500, false);
    assert.deepEqual(names(view, 500), ['a']);
    assert.deepEqual(view.healthy(500).get('a'), ['eth0']);
  });

  it('when our own heartbeats stop coming back, the view freezes: nobody goes stale', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    assert.equal(view.current(499), true);
    assert.equal(view.current(5000), false);
    assert.deepEqual(names(view, 5000), ['a', 'b'], 'still as of the last own heartbeat');
  });

  it('after a gap, the healthy get a full timeout to show up again', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    view.record('a', beat(), 5000, false);
    assert.deepEqual(names(view, 5000), ['a', 'b']);
    view.record('a', beat(), 5499, false);
    assert.deepEqual(names(view, 5499), ['a', 'b']);
    view.record('a', beat(), 5500, false);
    assert.deepEqual(names(view, 5500), ['a'], 'b never came back');
  });

  it('a replayed heartbeat of our own is not an echo', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('b', { ready: true, interfaces: [], at: 1000 }, 900, true);
    view.record('c', { ready: true, interfaces: [], at: 100 }, 900, true);
    view.record('a', { ready: true, interfaces: [], at: 900 }, 900, true);
    assert.equal(view.started, false);
    view.record('a', beat(), 900, false);
    assert.deepEqual(names(view, 900), ['a', 'b']);
    view.record('b', undefined, 950, false);
    assert.deepEqual(names(view, 950), ['a']);
  });
});

type Step =
  | { type: 'beat'; node: string; ready: boolean; replayed: boolean; at: number }
  | { type: 'gone'; node: string }
  | { type: 'connection'; connected: boolean };

const NODES = ['a', 'b', 'c'];
const step: fc.Arbitrary<{ dt: number; step: Step }> = fc.record({
  dt: fc.integer({ min: 0, max: 700 }),
  step: fc.oneof(
    fc.record({
      type: fc.constant('beat' as const),
      node: fc.constantFrom(...NODES),
      ready: fc.boolean(),
      replayed: fc.boolean(),
      at: fc.integer({ min: 0, max: 20_000 }),
    }),
    fc.record({ type: fc.constant('gone' as const), node: fc.constantFrom(...NODES) }),
    fc.record({ type: fc.constant('connection' as const), connected: fc.boolean() }),
  ),
});

describe('NodeHealth, any sequence', () => {
  it('on either clock a node is healthy exactly when it has no reason not to be, and a heartbeat that "changes nothing" indeed changes no judgement', () => {
    fc.assert(
      fc.property(fc.constantFrom(LOCAL, echoOf('a')), fc.array(step, { maxLength: 40 }), (clock, steps) => {
        const view = new NodeHealth(500, clock);
        let now = 0;
        for (const { dt, step: s } of steps) {
          now += dt;
          const before = JSON.stringify([...view.healthy(now)]);
          if (s.type === 'connection') view.connection(s.connected, now);
          else if (s.type === 'gone') view.record(s.node, undefined, now, false);
          else {
            const changed = view.record(s.node, { ready: s.ready, interfaces: [], at: s.at }, now, s.replayed);
            if (!changed) assert.equal(JSON.stringify([...view.healthy(now)]), before);
          }
          const healthy = view.healthy(now);
          for (const node of NODES) assert.equal(healthy.has(node), view.reason(node, now) === undefined);
          const next = view.nextExpiry(now);
          if (next !== undefined) {
            assert.ok(next > now);
            assert.ok(view.healthy(next).size < healthy.size, 'someone turns stale at the expiry');
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
