import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHealthServer } from './health-server.js';
import { createMetrics, readinessGauge } from './metrics.js';
import { Readiness } from './readiness.js';

describe('metrics', () => {
  it('berth_<component>_ready follows readiness at every scrape, as /readyz does', async () => {
    const registry = createMetrics('route-publisher');
    const readiness = new Readiness();
    readinessGauge(registry, 'route-publisher', readiness);
    await using health = await startHealthServerDisposable(registry, readiness);
    const scrape = async () => {
      const text = await (await fetch(`http://127.0.0.1:${health.port}/metrics`)).text();
      return text.split('\n').find((line) => line.startsWith('berth_route_publisher_ready'));
    };
    const readyz = async () => (await fetch(`http://127.0.0.1:${health.port}/readyz`)).status;

    readiness.notReady('bus', 'connecting');
    assert.equal(await scrape(), 'berth_route_publisher_ready{component="route-publisher"} 0');
    assert.equal(await readyz(), 503);
    readiness.ready('bus');
    assert.equal(await scrape(), 'berth_route_publisher_ready{component="route-publisher"} 1');
    assert.equal(await readyz(), 200);
  });

  it('/readyz shows warnings after its verdict, which they do not change', async () => {
    const registry = createMetrics('watcher');
    const readiness = new Readiness();
    await using health = await startHealthServerDisposable(registry, readiness);
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${health.port}/readyz`);
      return `${response.status} ${await response.text()}`;
    };
    readiness.warn('kube', 'cut off from the API server');
    assert.equal(await readyz(), '200 ok\nwarning: kube: cut off from the API server\n');
    readiness.notReady('bus', 'connecting');
    assert.equal(await readyz(), '503 bus: connecting\nwarning: kube: cut off from the API server\n');
    readiness.ready('bus');
    readiness.clearWarning('kube');
    assert.equal(await readyz(), '200 ok\n');
  });
});

async function startHealthServerDisposable(registry: ReturnType<typeof createMetrics>, readiness: Readiness) {
  const server = await startHealthServer({ host: '127.0.0.1', port: 0, readiness, registry });
  return { port: server.port, [Symbol.asyncDispose]: () => server.close() };
}
