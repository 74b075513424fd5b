import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthView } from './health-view.js';

const beat = (ready = true, interfaces = ['eth0']) => ({ ready, interfaces, at: 0 });
const names = (view: HealthView) => [...view.healthy().keys()].sort();

describe('HealthView', () => {
  it('has no view, and so no healthy node, until its own heartbeat returns', () => {
    const view = new HealthView('a', 500);
    view.record('b', beat(), 0, false);
    assert.deepEqual(names(view), []);
    assert.equal(view.current(0), false);
    view.record('a', beat(), 10, false);
    assert.deepEqual(names(view), ['a', 'b']);
    assert.equal(view.current(10), true);
  });

  it('a node whose heartbeats stop is out once our own have gone on for the timeout', () => {
    const view = new HealthView('a', 500);
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    view.record('c', beat(false), 0, false);
    assert.deepEqual(names(view), ['a', 'b'], 'an unready agent is not healthy');
    for (let t = 100; t <= 400; t += 100) view.record('a', beat(), t, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 500, false);
    assert.deepEqual(names(view), ['a']);
    assert.deepEqual(view.healthy().get('a'), ['eth0']);
  });

  it('when our own heartbeats stop coming back, the view freezes: nobody goes stale', () => {
    const view = new HealthView('a', 500);
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    assert.equal(view.current(499), true);
    assert.equal(view.current(5000), false);
    assert.deepEqual(names(view), ['a', 'b'], 'still as of the last own heartbeat');
  });

  it('after a gap, the healthy get a full timeout to show up again', () => {
    const view = new HealthView('a', 500);
    view.record('a', beat(), 0, false);
    view.record('b', beat(), 0, false);
    view.record('a', beat(), 5000, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 5499, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('a', beat(), 5500, false);
    assert.deepEqual(names(view), ['a'], 'b never came back');
  });

  it('replayed heartbeats count from when they were written, never from the future', () => {
    const view = new HealthView('a', 500);
    view.record('b', { ready: true, interfaces: [], at: 1000 }, 900, true);
    view.record('c', { ready: true, interfaces: [], at: 100 }, 900, true);
    view.record('a', beat(), 900, false);
    assert.deepEqual(names(view), ['a', 'b']);
    view.record('b', undefined, 950, false);
    assert.deepEqual(names(view), ['a']);
  });
});
