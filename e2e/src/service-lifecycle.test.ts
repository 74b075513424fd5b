import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTopology } from '@berth/bus';
import { startBerthProcess, startGobgp, startNats, type RigGobgp, type RigNats } from '@berth/rig';
import { createLogger } from '@berth/runtime';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = ['ipam', 'route-publisher', 'node-agent'] as const;

/** Makes Berth's buckets and events stream, as the watcher does before any other service can start. */
const makeTopology = (nats: RigNats) => createTopology(nats.as('watcher').config, createLogger('topology', 'silent'));

function launch(service: string, env: Record<string, string>) {
  const proc = startBerthProcess(join(root, 'services', service, 'dist', 'main.js'), env);
  after(() => proc.child.kill('SIGKILL'));
  return proc;
}

describe('services - lifecycle as real processes', () => {
  let nats: RigNats;
  let gobgp: RigGobgp;
  before(async () => {
    [nats, gobgp] = await Promise.all([startNats(), startGobgp()]);
    await makeTopology(nats);
  });
  after(() => Promise.all([nats.stop(), gobgp.stop()]));

  it('waits, unready, for the buckets the watcher makes, and starts once they exist', async (t) => {
    const fresh = await startNats();
    t.after(() => fresh.stop());
    const proc = launch('ipam', fresh.as('ipam').env);
    const { port } = (await proc.logged('health server listening')) as { port: number };
    const { bucket } = (await proc.logged('waiting for the bucket: the watcher creates it')) as { bucket: string };
    assert.match(bucket, /^berth_v1_/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503);
    await makeTopology(fresh);
    await proc.logged('started');
    assert.equal(await proc.stop(), 0);
  });

  for (const service of SERVICES) {
    it(`${service} serves health, readiness and metrics, logs JSON, and exits 0 on SIGTERM`, async () => {
      const access = service === 'node-agent' ? await nats.nodeAgent('lifecycle') : nats.as(service);
      const node = service === 'node-agent' ? { BERTH_NODE_NAME: 'lifecycle' } : {};
      const proc = launch(service, { ...access.env, ...node, BERTH_GOBGP_TARGET: gobgp.target });
      const { port } = (await proc.logged('health server listening')) as { port: number };
      await proc.logged('started');
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      // Ready once it has read the bus (and, for route-publisher, reached its speaker).
      let ready = 0;
      for (let i = 0; i < 100 && ready !== 200; i++) {
        if (i > 0) await sleep(50);
        ready = (await fetch(`${base}/readyz`)).status;
      }
      assert.equal(ready, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const prefix = `berth_${service.replace('-', '_')}_`;
      assert.match(metrics, new RegExp(`^${prefix}process_cpu_user_seconds_total\\{component="${service}"\\} `, 'm'));
      assert.ok(proc.lines.every((l) => l['component'] === service && typeof l['time'] === 'string'));
      assert.equal(await proc.stop(), 0);
      assert.equal(proc.lines.at(-1)?.msg, 'stopped');
    });
  }

  it('reaches a NATS that demands TLS client certificates, from its environment alone', async (t) => {
    const secure = await startNats({ tls: true });
    t.after(() => secure.stop());
    await makeTopology(secure);
    const proc = launch('node-agent', { ...(await secure.nodeAgent('tls')).env, BERTH_NODE_NAME: 'tls' });
    await proc.logged('started');
    assert.equal((await proc.logged('connected to NATS'))['server'], new URL(secure.url).host);
    assert.equal(await proc.stop(), 0);
  });

  it('reports unready with the reason while NATS cannot be reached, and still stops cleanly', async () => {
    const proc = launch('ipam', { BERTH_NATS_SERVERS: 'nats://127.0.0.1:1' });
    const { port } = (await proc.logged('health server listening')) as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /bus: connecting to NATS/);
    assert.equal(await proc.stop(), 0);
  });

  it('refuses to start on bad configuration, naming every bad variable, with exit code 2', async () => {
    const proc = launch('route-publisher', { BERTH_HEALTH_PORT: 'http', BERTH_LOG_LEVEL: 'loud' });
    assert.equal(await proc.exit, 2);
    const fatal = proc.lines.find((l) => l.level === 'fatal');
    assert.deepEqual(fatal?.['problems'], [
      'BERTH_LOG_LEVEL="loud" is not valid: it must be one of fatal, error, warn, info, debug, trace, silent',
      'BERTH_HEALTH_PORT="http" is not valid: it must be an integer from 0 to 65535',
    ]);
  });
});
