import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ApiException, ApiextensionsV1Api, CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { AckPolicy, connect, StringCodec } from 'nats';
import {
  freePort,
  KUBERNETES_VERSION,
  redisPing,
  startControlPlane,
  startGobgp,
  startNats,
  startRedis,
  type RigProcess,
} from './index.js';

/** True when neither the process nor anything in its group is left. */
function groupGone(proc: RigProcess): boolean {
  try {
    process.kill(-proc.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('rig - nats-server', () => {
  it('serves JetStream publish/subscribe with its credentials, refuses without, and stops clean', async () => {
    const nats = await startNats();
    after(() => nats.stop());
    await assert.rejects(connect({ servers: nats.url, maxReconnectAttempts: 0 }), /Authorization/i);
    const nc = await connect({ servers: nats.url, user: 'rig', pass: nats.as('rig').password });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'RIGTEST', subjects: ['rig.test.>'] });
    const js = nc.jetstream();
    const sc = StringCodec();
    const ack = await js.publish('rig.test.hello', sc.encode('hello'));
    assert.equal(ack.stream, 'RIGTEST');
    await jsm.consumers.add('RIGTEST', { durable_name: 'reader', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get('RIGTEST', 'reader');
    const message = await consumer.next({ expires: 5000 });
    assert.equal(message === null ? undefined : sc.decode(message.data), 'hello');
    message?.ack();
    await nc.close();
    await nats.stop();
    assert.ok(groupGone(nats.process));
  });
});

describe('rig - redis-server', () => {
  it('answers PING with its password, refuses without, and stops clean', async () => {
    const redis = await startRedis();
    after(() => redis.stop());
    assert.equal(await redisPing(redis.port, 'not-the-password'), false);
    const client = new Redis({ port: redis.port, host: redis.host, password: redis.password });
    assert.equal(await client.ping(), 'PONG');
    client.disconnect();
    await redis.stop();
    assert.ok(groupGone(redis.process));
  });
});

describe('rig - gobgpd', () => {
  it('answers gobgp global over gRPC on its Unix socket, starts BGP, and stops clean', async () => {
    const gobgp = await startGobgp();
    after(() => gobgp.stop());
    assert.match(gobgp.target, /^unix:\/\//);
    assert.deepEqual(JSON.parse(await gobgp.cli('-j', 'global')), {}, 'BGP must not run before it is started');
    const port = await freePort();
    await gobgp.cli(
      'global',
      'as',
      '64512',
      'router-id',
      '192.0.2.1',
      'listen-port',
      String(port),
      'listen-addresses',
      '127.0.0.1',
    );
    const global = JSON.parse(await gobgp.cli('-j', 'global')) as {
      asn?: number;
      router_id?: string;
      listen_port?: number;
    };
    assert.deepEqual(global, {
      asn: 64512,
      router_id: '192.0.2.1',
      listen_port: port,
      listen_addresses: ['127.0.0.1'],
    });
    await gobgp.stop();
    assert.ok(groupGone(gobgp.process));
  });

  it('SIGKILLed, starts again with the same command over the socket the dead daemon left', async () => {
    const gobgp = await startGobgp();
    after(() => gobgp.stop());
    const socket = gobgp.target.slice('unix://'.length);
    await gobgp.kill();
    assert.ok(statSync(socket).isSocket(), 'the killed daemon left its socket behind');
    await gobgp.restart();
    assert.deepEqual(JSON.parse(await gobgp.cli('-j', 'global')), {});
    assert.match(readFileSync(gobgp.process.logFile, 'utf8'), /gobgpd-start: removing .*gobgp\.sock/);
  });
});

describe('rig - control plane', () => {
  it('runs the pinned kube-apiserver with RBAC, accepts a CRD, and stops clean', async () => {
    const cp = await startControlPlane();
    after(() => cp.stop());
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);

    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, KUBERNETES_VERSION);
    assert.match(
      await cp.kubectl(['version', '--client', '-o', 'json']),
      new RegExp(`"gitVersion": "${KUBERNETES_VERSION}"`),
    );

    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        metadata: { name: 'widgets.rig.berth.dev' },
        spec: {
          group: 'rig.berth.dev',
          scope: 'Cluster',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } } },
                },
              },
            },
          ],
        },
      },
    });
    await cp.kubectl(['wait', '--for=condition=Established', 'crd/widgets.rig.berth.dev', '--timeout=30s']);
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'rig.berth.dev/v1',
        kind: 'Widget',
        metadata: { name: 'w' },
        spec: { size: 2 },
      }),
    });
    await assert.rejects(
      cp.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'rig.berth.dev/v1',
          kind: 'Widget',
          metadata: { name: 'bad' },
          spec: { size: 0 },
        }),
      }),
      /spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1/,
    );

    // The unprivileged user is authenticated but RBAC grants it nothing.
    const unprivileged = new KubeConfig();
    unprivileged.loadFromFile(cp.kubeconfig);
    unprivileged.setCurrentContext('unprivileged');
    await assert.rejects(
      unprivileged.makeApiClient(CoreV1Api).listNamespacedService({ namespace: 'default' }),
      (error: unknown) => error instanceof ApiException && error.code === 403,
    );
    await assert.rejects(cp.kubectl(['auth', 'can-i', 'list', 'services'], { as: 'unprivileged' }), /failed: no$/);
    assert.equal((await cp.kubectl(['auth', 'can-i', 'list', 'services'])).trim(), 'yes');

    await cp.stop();
    assert.ok(groupGone(cp.processes.apiserver));
    assert.ok(groupGone(cp.processes.etcd));
  });
});
