import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, ErrorCode, Events, type NatsConnection } from 'nats';
import { Buckets, connectBus, createTopology, HeartbeatSubjects, inboxPrefix, type Bus } from '@berth/bus';
import type { NodeHealthSnapshot } from '@berth/contracts';
import {
  registerNode,
  renderChart,
  startBerthProcess,
  startControlPlane,
  startNats,
  type BerthProcess,
  type RigControlPlane,
  type RigNats,
} from '@berth/rig';
import { createLogger } from '@berth/runtime';

const run = promisify(execFile);
const BUS_AUTH_MAIN = join(dirname(fileURLToPath(import.meta.url)), 'bus-auth.js');
const NAMESPACE = 'berth-system';
const ISSUER_SECRET = 'berth-bus-auth-issuer';
const USER_TTL_SECONDS = 5;

/** A node-agent's heartbeat for `node`, as its agent sends it. */
const heartbeat = (node: string): NodeHealthSnapshot => ({
  v: 1,
  key: node,
  revision: '1',
  at: Date.now(),
  ready: true,
  interfaces: ['eth0'],
});

describe('bus-auth - node-agents let in by their pods’ tokens, each as its own node', () => {
  let kube: RigControlPlane;
  let nats: RigNats;
  let busAuth: BerthProcess;
  let startBusAuth: () => Promise<void>;
  let dir: string;
  let rig: NatsConnection;
  /** What `before` started, stopped last first, even when it failed halfway. */
  const started: (() => Promise<unknown>)[] = [];
  const tokens = new Map<string, string>();
  /** A token of `serviceAccount` in `namespace`, bound to `pod` unless undefined. */
  const token = async (namespace: string, serviceAccount: string, pod: string | undefined, audience = 'berth-nats') =>
    (
      await kube.kubectl([
        '-n',
        namespace,
        'create',
        'token',
        serviceAccount,
        '--audience',
        audience,
        ...(pod === undefined ? [] : ['--bound-object-kind', 'Pod', '--bound-object-name', pod]),
      ])
    ).trim();
  const pod = (namespace: string, name: string, node: string, serviceAccount: string) =>
    kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace },
        spec: { nodeName: node, serviceAccountName: serviceAccount, containers: [{ name: 'c', image: 'none' }] },
      }),
    });

  /** Runs the chart's issuer hook command as its own ServiceAccount; resolves with its log. */
  const ensureIssuer = async () =>
    (
      await run(process.execPath, [BUS_AUTH_MAIN, 'ensure-issuer'], {
        env: {
          PATH: process.env['PATH'] ?? '',
          BERTH_KUBECONFIG: await kube.serviceAccountKubeconfig(NAMESPACE, 'berth-bus-auth-issuer'),
          BERTH_NAMESPACE: NAMESPACE,
          BERTH_BUS_AUTH_ISSUER_SECRET: ISSUER_SECRET,
        },
      })
    ).stdout;
  const issuerSecret = async () =>
    JSON.parse(await kube.kubectl(['-n', NAMESPACE, 'get', 'secret', ISSUER_SECRET, '-o', 'json'])) as {
      metadata: { resourceVersion: string };
      data: { seed: string; issuer: string };
    };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-bus-auth-'));
    started.push(() => rm(dir, { recursive: true, force: true }));
    kube = await startControlPlane();
    started.push(() => kube.stop());
    await kube.kubectl(['create', 'namespace', NAMESPACE]);
    // bus-auth, and the hook that makes its key, run as the chart makes them: their ServiceAccounts
    // with the chart's RBAC (the hook's Job itself would never run here: no kubelet).
    const chart = await renderChart(
      {},
      { showOnly: ['templates/bus-auth/rbac.yaml', 'templates/bus-auth/issuer-hook.yaml'] },
    );
    const rbac = chart
      .split(/^---$/m)
      .filter((doc) => !/^kind: Job$/m.test(doc))
      .join('\n---\n');
    await kube.kubectl(['apply', '-n', NAMESPACE, '-f', '-'], { input: rbac });
    await ensureIssuer();
    const { data } = await issuerSecret();
    const seed = join(dir, 'seed');
    await writeFile(seed, Buffer.from(data.seed, 'base64'), { mode: 0o600 });
    // The servers trust the public key the hook wrote, as the chart's NATS reads it from the Secret.
    nats = await startNats({ calloutIssuer: Buffer.from(data.issuer, 'base64').toString('utf8') });
    started.push(() => nats.stop());
    for (const [name, ipv4] of [
      ['node-1', '198.18.0.11'],
      ['node-2', '198.18.0.12'],
    ] as const)
      await registerNode(kube, { name, ipv4 });
    await kube.kubectl(['create', 'namespace', 'shop']);
    await kube.kubectl(['-n', NAMESPACE, 'create', 'serviceaccount', 'berth-node-agent']);
    await kube.kubectl(['-n', 'shop', 'create', 'serviceaccount', 'web']);
    await pod(NAMESPACE, 'agent-1', 'node-1', 'berth-node-agent');
    await pod(NAMESPACE, 'agent-2', 'node-2', 'berth-node-agent');
    await pod('shop', 'web', 'node-1', 'web');
    tokens.set('node-1', await token(NAMESPACE, 'berth-node-agent', 'agent-1'));
    tokens.set('node-2', await token(NAMESPACE, 'berth-node-agent', 'agent-2'));

    const busAuthEnv = {
      ...nats.as('bus-auth').env,
      BERTH_KUBECONFIG: await kube.serviceAccountKubeconfig(NAMESPACE, 'berth-bus-auth'),
      BERTH_NAMESPACE: NAMESPACE,
      BERTH_BUS_AUTH_ISSUER_FILE: seed,
      // Short, to see agents show their tokens again within a test.
      BERTH_BUS_AUTH_USER_TTL_SECONDS: String(USER_TTL_SECONDS),
    };
    startBusAuth = async () => {
      busAuth = startBerthProcess(BUS_AUTH_MAIN, busAuthEnv);
      await busAuth.logged('started');
    };
    started.push(() => busAuth.stop());
    await startBusAuth();
    await createTopology(nats.as('watcher').config, createLogger('setup', 'silent'));
    rig = await connect({ servers: nats.url, user: 'rig', pass: nats.as('rig').password });
    started.push(() => rig.close());
  });
  after(async () => {
    for (const stop of started.reverse()) await stop();
  });

  /** Connects as node `node`'s agent, with `text` in a token file as the node-agent reads it. */
  const agent = async (node: string, text: string): Promise<Bus> => {
    const file = join(dir, `token-${node}`);
    await writeFile(file, text);
    return connectBus(
      { natsServers: [nats.url], natsTokenFile: file },
      { name: `agent-${node}`, identity: 'node-agent', node, logger: createLogger('agent', 'silent') },
    );
  };

  it('node-1’s agent sends its heartbeat and writes its health entry; node-2’s it may not', async (t) => {
    const bus = await agent('node-1', tokens.get('node-1') ?? '');
    t.after(() => bus.close());
    const heard: string[] = [];
    const sub = rig.subscribe(HeartbeatSubjects.all, { callback: (_e, m) => heard.push(m.subject) });
    t.after(() => sub.unsubscribe());
    assert.equal(bus.sendHeartbeat(heartbeat('node-1')), true);
    const health = await bus.bucket(Buckets.nodeHealth);
    await health.put(heartbeat('node-1'));
    await assert.rejects(health.put(heartbeat('node-2')), /permissions violation/i);
    // The other node's heartbeat leaves the client, and the server drops it.
    bus.sendHeartbeat(heartbeat('node-2'));
    await rig.flush();
    await sleep(200);
    assert.deepEqual(heard, [HeartbeatSubjects.of('node-1')]);
    assert.equal((await health.get('node-1'))?.key, 'node-1');
    assert.equal(await health.get('node-2'), undefined);
  });

  it('node-1’s token cannot be made to speak for node-2: presented as node-2, its writes are node-1’s alone', async (t) => {
    // A stolen token replayed by an agent that says it is node-2: the server still knows it as node-1's.
    const violations: string[] = [];
    const nc = await connect({
      servers: nats.url,
      token: tokens.get('node-1') ?? '',
      inboxPrefix: inboxPrefix('node-agent', 'node-2'),
    });
    t.after(() => nc.close());
    void (async () => {
      for await (const s of nc.status()) if (s.data === ErrorCode.PermissionsViolation) violations.push(s.type);
    })();
    nc.publish(HeartbeatSubjects.of('node-2'), '{}');
    nc.subscribe(`${inboxPrefix('node-agent', 'node-2')}.>`);
    await nc.flush();
    await sleep(100);
    assert.deepEqual(violations, [Events.Error, Events.Error], 'the heartbeat and the inbox of node-2 are refused');
  });

  it('refuses what is not a node-agent’s pod token, and says why in its log', async () => {
    const refusals: [string, string, RegExp][] = [
      [
        'another pod’s token',
        await token('shop', 'web', 'web'),
        /shop:web's, not system:serviceaccount:berth-system:berth-node-agent's/,
      ],
      [
        'a node-agent token for the API server',
        await token(NAMESPACE, 'berth-node-agent', 'agent-1', 'https://kubernetes.default.svc'),
        /did not accept the token.*audience|not for berth-nats/,
      ],
      [
        'a node-agent token bound to no pod',
        await token(NAMESPACE, 'berth-node-agent', undefined),
        /not bound to a pod/,
      ],
      ['no token', '', /no token/],
      ['a forged token', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', /did not accept the token/],
    ];
    const refused = () => busAuth.lines.filter((l) => l.msg === 'refused a client of NATS');
    for (const [what, text, reason] of refusals) {
      const before = refused().length;
      await assert.rejects(
        connect({ servers: nats.url, ...(text === '' ? {} : { token: text }), maxReconnectAttempts: 0 }),
        /Authorization Violation/,
        what,
      );
      for (let i = 0; refused().length === before && i < 100; i++) await sleep(20);
      assert.match(String(refused().at(-1)?.['reason']), reason, what);
    }
    // What bus-auth logged holds no token, the refused ones included.
    for (const [, text] of refusals)
      if (text !== '') assert.ok(!JSON.stringify(busAuth.lines).includes(text.slice(-24)), 'no token in the log');
  });

  it('an agent whose user expires shows its token again (read anew from its file) and goes on: no heartbeat gap of a health timeout', async (t) => {
    const file = join(dir, 'token-rotating');
    await writeFile(file, tokens.get('node-1') ?? '');
    const bus = await connectBus(
      { natsServers: [nats.url], natsTokenFile: file },
      { name: 'agent-rotating', identity: 'node-agent', node: 'node-1', logger: createLogger('agent', 'silent') },
    );
    t.after(() => bus.close());
    const heard: number[] = [];
    const sub = rig.subscribe(HeartbeatSubjects.of('node-1'), { callback: () => heard.push(Date.now()) });
    t.after(() => sub.unsubscribe());
    const vouched = () => busAuth.lines.filter((l) => l.msg === 'vouched for a client of NATS').length;
    const before = vouched();
    const beating = setInterval(() => bus.sendHeartbeat(heartbeat('node-1')), 100);
    t.after(() => clearInterval(beating));
    // The kubelet replaces the token before it expires: the agent reads the new one when it reconnects.
    await writeFile(file, await token(NAMESPACE, 'berth-node-agent', 'agent-1'));
    await sleep((USER_TTL_SECONDS + 2) * 1000);
    clearInterval(beating);
    assert.ok(vouched() > before, 'the server asked again once the user expired');
    const gap = Math.max(...heard.slice(1).map((at, i) => at - (heard[i] ?? at)));
    t.diagnostic(`longest heartbeat gap across the re-authentication: ${gap} ms`);
    // BERTH_NODE_HEALTH_TIMEOUT_MS's default: a longer silence would move layer-2 VIPs.
    assert.ok(gap < 500, `heartbeats went ${gap} ms unheard`);
  });

  it('an agent that cannot get in while bus-auth is away keeps trying, and is in once it is back', async (t) => {
    await busAuth.stop();
    // Refused again and again meanwhile: nats.js would give up for good after two refusals.
    const connecting = agent('node-1', tokens.get('node-1') ?? '');
    await sleep(2000);
    await startBusAuth();
    const bus = await connecting;
    t.after(() => bus.close());
    assert.equal(bus.sendHeartbeat(heartbeat('node-1')), true);
  });

  it('the issuer hook leaves a Secret it made as it is: an upgrade keeps the key', async () => {
    const before = await issuerSecret();
    await ensureIssuer();
    assert.equal((await issuerSecret()).metadata.resourceVersion, before.metadata.resourceVersion);
  });

  it('refuses node-2’s token once its pod is deleted', async () => {
    // No kubelet here to finish a graceful delete: the pod goes at once, as a kubelet would make it.
    await kube.kubectl(['-n', NAMESPACE, 'delete', 'pod', 'agent-2', '--grace-period=0', '--force']);
    await assert.rejects(
      connect({ servers: nats.url, token: tokens.get('node-2') ?? '', maxReconnectAttempts: 0 }),
      /Authorization Violation/,
    );
  });
});
