import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Buckets } from '@berth/bus';
import { startBerthProcess, type BerthProcess } from '@berth/rig';
import { lbService, metric, mirror, startTestCluster, until, WATCHER_MAIN, type TestCluster } from './test-cluster.js';

const PUTS = 'berth_watcher_snapshots_written_total{bucket="berth_v1_services",op="put",component="watcher"}';

describe('watcher - active/standby and a restarting API server', () => {
  let cluster: TestCluster;
  const abort = new AbortController();
  const replicas: BerthProcess[] = [];
  let services: Awaited<ReturnType<typeof mirror<(typeof Buckets.services.schema)['static']>>>;

  const start = async (identity: string) => {
    const proc = startBerthProcess(WATCHER_MAIN, {
      ...cluster.nats.as('watcher').env,
      BERTH_KUBECONFIG: cluster.watcherKubeconfig,
      BERTH_POD_NAME: identity,
      BERTH_LEASE_DURATION_MS: '3000',
      BERTH_LEASE_RENEW_DEADLINE_MS: '2000',
      BERTH_LEASE_RETRY_MS: '500',
    });
    replicas.push(proc);
    const { port } = (await proc.logged('health server listening')) as { port: number };
    await proc.logged('every collection listed');
    return { proc, port };
  };

  before(async () => {
    cluster = await startTestCluster();
    services = await mirror(cluster.bus, Buckets.services, abort.signal);
  });
  after(async () => {
    abort.abort();
    for (const proc of replicas) proc.child.kill('SIGKILL');
    await cluster.stop();
  });

  let a: Awaited<ReturnType<typeof start>>;
  let b: Awaited<ReturnType<typeof start>>;

  it('one replica leads and writes; the standby writes nothing', async () => {
    a = await start('watcher-a');
    await a.proc.logged('became the leader');
    b = await start('watcher-b');
    await cluster.apply(lbService('one'));
    await until('one published', () => services.entries.has('shop/one'));
    assert.ok((await metric(a.port, PUTS)) >= 1);
    assert.equal(await metric(b.port, PUTS), 0);
    assert.equal(
      b.proc.lines.some((l) => l.msg === 'became the leader'),
      false,
    );
  });

  it('when the leader is killed the standby takes over, rewrites nothing and loses nothing', async () => {
    a.proc.child.kill('SIGKILL');
    // A change while nobody leads must still arrive.
    await cluster.apply(lbService('two'));
    await b.proc.logged('became the leader', 10_000);
    await until('two published by the new leader', () => services.entries.has('shop/two'));
    const repeated = services.puts.filter((put, i) => services.puts.indexOf(put) !== i);
    assert.deepEqual(repeated, [], 'no snapshot was written twice');
    assert.ok((await metric(b.port, PUTS)) >= 1);
  });

  it('resumes after kube-apiserver restarts, converging on what changed meanwhile; says it was cut off', async () => {
    // What /readyz and the reachability gauge said while the API server was away and after.
    const said = new Set<string>();
    const reachable = 'berth_watcher_api_server_reachable{component="watcher"}';
    const sample = async () => {
      const response = await fetch(`http://127.0.0.1:${b.port}/readyz`);
      const body = (await response.text()).replace(/since \S+ \(.*\)/, 'since …');
      said.add(
        `${response.status} ${body.trim().replace(/\n/g, ' | ')} | reachable ${await metric(b.port, reachable)}`,
      );
    };
    const sampling = { on: true };
    const sampler = (async () => {
      for (let i = 0; sampling.on && i < 600; i++) {
        await sample();
        await sleep(100);
      }
    })();
    await cluster.kube.restartApiserver();
    await cluster.apply(lbService('three'));
    await cluster.kube.kubectl(['delete', 'service', '-n', 'shop', 'one', '--wait=false']);
    await until(
      'three published and one gone',
      () => services.entries.has('shop/three') && !services.entries.has('shop/one'),
      30_000,
    );
    assert.ok(
      b.proc.lines.some((l) => l.msg === 'list/watch failed; retrying'),
      'the outage was noticed',
    );
    await until('reached again', () => b.proc.lines.some((l) => l.msg === 'reached the API server again'), 10_000);
    sampling.on = false;
    await sampler;
    await sample();
    assert.ok(
      said.has(
        '200 ok | warning: kube: cut off from the API server since …; acting on the last state seen | reachable 0',
      ),
      [...said].join('\n'),
    );
    assert.ok(said.has('200 ok | reachable 1'), [...said].join('\n'));
  });

  it('a leader stopping cleanly hands over at once, without waiting for the Lease to expire', async () => {
    const c = await start('watcher-c');
    const stopped = Date.now();
    assert.equal(await b.proc.stop(), 0);
    await c.proc.logged('became the leader', 10_000);
    const line = c.proc.lines.find((l) => l.msg === 'became the leader');
    assert.ok(Date.parse(String(line?.['time'])) - stopped < 3000, 'took over before the 3 s lease ran out');
  });
});
