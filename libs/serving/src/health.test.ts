import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NodeHealth, type HealthClock } from './health.js';

const beat = (ready = true, interfaces = ['eth0']) => ({ ready, interfaces, at: 0 });
const names = (view: NodeHealth) => [...view.healthy().keys()].sort();
const ANYONE: HealthClock = {};
const echoOf = (self: string): HealthClock => ({ self });

describe("NodeHealth on anyone's clock (route-publisher, berth)", () => {
  it('a node is healthy while its last heartbeat said ready and is younger than the timeout, as of the newest heartbeat', () => {
    const view = new NodeHealth(1000, ANYONE);
    view.record('stale', beat(), 0, false);
    view.record('fresh', beat(), 500, false);
    view.record('fresh', beat(), 1000, false);
    view.record('unready', beat(false), 1000, false);
    assert.deepEqual(names(view), ['fresh']);
    assert.deepEqual(
      ['fresh', 'stale', 'unready', 'unknown'].map((n) => view.reason(n)),
      [undefined, 'staleHeartbeat', 'agentUnready', 'noHeartbeat'],
    );
  });

  it('says when a heartbeat changes nothing that is judged, so no pass is needed', () => {
    const view = new NodeHealth(1000, ANYONE);
    assert.equal(view.record('a', beat(), 0, false), true, 'new');
    assert.equal(view.record('a', beat(), 100, false), false, 'the same, fresh');
    assert.equal(view.record('b', beat(), 150, false), true, 'another node');
    assert.equal(view.record('b', beat(), 1100, false), true, 'its clock made a stale');
    assert.equal(view.record('a', beat(false), 1200, false), true, 'unready now');
    assert.equal(view.record('a', beat(false, ['eth1']), 1300, false), true, 'other interfaces');
    assert.equal(view.record('a', undefined, 1500, false), true, 'gone');
    assert.equal(view.record('a', undefined, 1600, false), false, 'already gone');
  });

  it('while nobody is heard the judgement stops; when someone is again, the healthy get a full timeout', () => {
    const view = new NodeHealth(1000, ANYONE);
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 500, false);
    assert.equal(view.current(600), true);
    assert.equal(view.current(5000), false);
    assert.deepEqual(names(view), ['a', 'b'], 'as of the last heartbeat heard');
    view.record('b', beat(), 5000, false);
    view.record('b', beat(), 5999, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('b', beat(), 6000, false);
    assert.deepEqual(names(view), ['b'], 'a never came back');
  });

  it('back after a gap, the healthy and those read again meanwhile get the timeout and the grace', () => {
    const view = new NodeHealth(500, ANYONE, 300);
    view.record('gone', { ready: true, interfaces: [], at: -1000 }, 0, true);
    view.record('a', beat(), 0, false);
    // Read again on the way back: b's heartbeat was written during the outage, into a buffer.
    view.record('b', { ready: true, interfaces: [], at: 2000 }, 4000, true);
    view.record('a', beat(), 4000, false);
    assert.deepEqual(names(view), ['a', 'b'], 'gone was stale before the gap');
    for (const t of [4200, 4400, 4600, 4799]) view.record('a', beat(), t, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 4800, false);
    assert.deepEqual(names(view), ['a'], 'b had the timeout and the grace to come back');
  });

  it('replayed heartbeats count from when they were written, never from the future, and move no clock', () => {
    const view = new NodeHealth(500, ANYONE);
    view.record('b', { ready: true, interfaces: [], at: 1000 }, 900, true);
    view.record('c', { ready: true, interfaces: [], at: 100 }, 900, true);
    assert.equal(view.started, false);
    assert.deepEqual(names(view), []);
    view.record('a', beat(), 900, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 1399, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 1400, false);
    assert.deepEqual(names(view), ['a']);
  });
});

describe('NodeHealth on its own echo (node-agent)', () => {
  it('has no view, and so no healthy node, until its own heartbeat returns', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('b', beat(), 0, false);
    assert.equal(view.started, false);
    assert.deepEqual(names(view), []);
    assert.equal(view.reason('b'), 'staleHeartbeat');
    assert.equal(view.current(0), false);
    view.record('a', beat(), 10, false);
    assert.deepEqual(names(view), ['a', 'b']);
    assert.equal(view.current(10), true);
  });

  it('a node whose heartbeats stop is out once our own have gone on for the timeout', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    view.record('c', beat(false), 0, false);
    assert.deepEqual(names(view), ['a', 'b'], 'an unready agent is not healthy');
    for (let t = 100; t <= 400; t += 100) view.record('a', beat(), t, false);
    assert.deepEqual(names(view), ['a', 'b']);
    assert.deepEqual(names(view), ['a', 'b'], 'the local clock alone moves nothing');
    view.record('a', beat(), 500, false);
    assert.deepEqual(names(view), ['a']);
    assert.deepEqual(view.healthy().get('a'), ['eth0']);
  });

  it('when our own heartbeats stop coming back, the view freezes: nobody goes stale', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    assert.equal(view.current(499), true);
    assert.equal(view.current(5000), false);
    assert.deepEqual(names(view), ['a', 'b'], 'still as of the last own heartbeat');
  });

  it('after a gap, the healthy get a full timeout to show up again', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    view.record('a', beat(), 5000, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 5499, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 5500, false);
    assert.deepEqual(names(view), ['a'], 'b never came back');
  });

  it('a replayed heartbeat of our own is not an echo', () => {
    const view = new NodeHealth(500, echoOf('a'));
    view.record('b', { ready: true, interfaces: [], at: 1000 }, 900, true);
    view.record('c', { ready: true, interfaces: [], at: 100 }, 900, true);
    view.record('a', { ready: true, interfaces: [], at: 900 }, 900, true);
    assert.equal(view.started, false);
    view.record('a', beat(), 900, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('b', undefined, 950, false);
    assert.deepEqual(names(view), ['a']);
  });
});

type Step =
  { type: 'beat'; node: string; ready: boolean; replayed: boolean; at: number } | { type: 'gone'; node: string };

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
  ),
});

describe('NodeHealth, any sequence', () => {
  it('on either clock a node is healthy exactly when it has no reason not to be, and a heartbeat that "changes nothing" indeed changes no judgement', () => {
    fc.assert(
      fc.property(fc.constantFrom(ANYONE, echoOf('a')), fc.array(step, { maxLength: 40 }), (clock, steps) => {
        const view = new NodeHealth(500, clock);
        let now = 0;
        for (const { dt, step: s } of steps) {
          now += dt;
          const before = JSON.stringify([...view.healthy()]);
          if (s.type === 'gone') view.record(s.node, undefined, now, false);
          else {
            const changed = view.record(s.node, { ready: s.ready, interfaces: [], at: s.at }, now, s.replayed);
            if (!changed) assert.equal(JSON.stringify([...view.healthy()]), before);
          }
          const healthy = view.healthy();
          for (const node of NODES) assert.equal(healthy.has(node), view.reason(node) === undefined);
        }
      }),
      { numRuns: 500 },
    );
  });
});
