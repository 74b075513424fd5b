import assert from 'node:assert/strict';
import dnsModule from 'node:dns';
import { createServer, connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import type { NodeHealthSnapshot, NodeSnapshot, RouteWithdrawnEvent } from '@berth/contracts';
import { ConfigError, createLogger, Readiness } from '@berth/runtime';
import { startDns, startNats, startNatsCluster, type RigNats } from '@berth/rig';
import {
  Buckets,
  ContractViolationError,
  EventsStream,
  connectBus,
  createTopology,
  type Bus,
  type Change,
} from './index.js';

/** A logger whose JSON lines the test can read back. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('bus-test', 'debug', stream), lines };
}

function heartbeat(name: string, ready = true): NodeHealthSnapshot {
  return { v: 1, key: name, revision: String(Date.now()), at: Date.now(), ready, interfaces: ['eth0'] };
}

/** Collects the live heartbeats `bus` receives until `signal` aborts, with when each arrived. */
function receiveHeartbeats(
  bus: Bus,
  signal: AbortSignal,
): { got: { node: string; at: number }[]; done: Promise<void> } {
  const got: { node: string; at: number }[] = [];
  const done = (async () => {
    for await (const beat of bus.heartbeats(signal)) got.push({ node: beat.key, at: Date.now() });
  })();
  return { got, done };
}

function node(name: string, revision: string): NodeSnapshot {
  return {
    v: 1,
    key: name,
    revision,
    addresses: [{ type: 'InternalIP', address: '192.0.2.11' }],
    labels: {},
    ready: true,
    excludedFromLoadBalancers: false,
  };
}

/**
 * A TCP relay to NATS whose connections can be dropped, and new ones refused, for one client
 * alone: that client reconnects while the server and everyone else stay up.
 */
async function relayTo(url: string) {
  const target = new URL(url);
  const open = new Set<Socket>();
  const frozen = new Set<Socket>();
  let refusing = false;
  const server = createServer((inner) => {
    if (refusing) return void inner.destroy();
    const outer = connectTcp(Number(target.port), target.hostname);
    for (const [a, b] of [
      [inner, outer],
      [outer, inner],
    ] as const) {
      open.add(a);
      a.on('error', () => undefined).on('close', () => (open.delete(a), b.destroy()));
      a.on('data', (chunk) => frozen.has(a) || b.write(chunk));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `nats://127.0.0.1:${port}`,
    drop() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    accept() {
      refusing = false;
    },
    /** Passes nothing more on the connections open now, closing none: a server whose host vanished. New ones work. */
    freeze() {
      for (const socket of open) frozen.add(socket);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

/** Watches the nodes bucket on `bus` into the array returned until the test ends; then closes `closing`. */
function watchNodes(t: TestContext, bus: Bus, closing: { close(): Promise<void> }[]): Change<NodeSnapshot>[] {
  const abort = new AbortController();
  const seen: Change<NodeSnapshot>[] = [];
  const watching = (async () => {
    for await (const change of (await bus.bucket(Buckets.nodes)).watch(abort.signal)) seen.push(change);
  })();
  t.after(async () => {
    abort.abort();
    await watching;
    for (const each of closing) await each.close();
  });
  return seen;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('bus - over mutual TLS', () => {
  it('connects with the CA and client certificate from config, and is refused without them', async (t) => {
    const nats = await startNats({ tls: true });
    t.after(() => nats.stop());
    const certs = nats.certificates;
    assert.ok(certs);
    const { logger } = capturingLogger();
    const base = nats.as('rig').config;
    const bus = await connectBus(
      { ...base, natsTlsCa: certs.ca, natsTlsCert: certs.clientCert, natsTlsKey: certs.clientKey },
      { name: 'tls-test', identity: 'watcher', logger },
    );
    await bus.ensureTopology();
    const nodes = await bus.bucket(Buckets.nodes);
    await nodes.put(node('over-tls', '1'));
    assert.deepEqual(await nodes.get('over-tls'), node('over-tls', '1'));
    await bus.close();

    // The server demands a client certificate: trusting its CA is not enough.
    await assert.rejects(
      connect({
        servers: nats.url,
        user: 'rig',
        pass: nats.as('rig').password,
        tls: { caFile: certs.ca },
        maxReconnectAttempts: 0,
        timeout: 3000,
      }),
      /TIMEOUT|certificate/i,
    );
  });
});

describe('bus - on a three-server JetStream cluster', () => {
  it('keeps every bucket and the events stream at three replicas; one server SIGKILLed loses no snapshot; writes land and watches see them again', async (t) => {
    const cluster = await startNatsCluster();
    const { logger } = capturingLogger();
    const config = { ...cluster.as('rig').config, natsReplicas: 3 };
    // The client on a server that stays: the one killed holds some of the streams' leaders.
    const bus = await connectBus(
      { ...config, natsServers: [cluster.urls[1] ?? '', ...cluster.urls] },
      { name: 'w', identity: 'watcher', logger },
    );
    await bus.ensureTopology();
    const raw = await connect({ servers: [cluster.urls[2] ?? ''], user: 'rig', pass: cluster.as('rig').password });
    t.after(async () => {
      await raw.close();
      await bus.close();
    });
    const nodes = await bus.bucket(Buckets.nodes);
    const jsm = await raw.jetstreamManager();
    assert.equal((await jsm.streams.info(`KV_${Buckets.nodes.name}`)).config.num_replicas, 3);
    assert.equal((await jsm.streams.info(EventsStream.name)).config.num_replicas, 3);
    for (let i = 0; i < 20; i++) await nodes.put(node(`before-${i}`, '1'));
    // A watch from the third server, whose consumer may live on the one killed.
    const watcher = await connectBus(
      { ...config, natsServers: [cluster.urls[2] ?? '', ...cluster.urls] },
      { name: 'r', identity: 'watcher', logger },
    );
    const seen = watchNodes(t, watcher, [watcher]);
    // Last: a client left without any server would wait for one forever.
    t.after(() => cluster.stop());
    await until(() => seen.some((c) => c.type === 'initialized'), 'initialized');

    const killedAt = Date.now();
    await cluster.kill(0);
    // Requests fail while the streams that had their leader there elect another: retry until they land.
    const retried = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          return await attempt();
        } catch (error) {
          if (Date.now() > deadline)
            assert.fail(`${what} failed for 20 s after losing one server of three: ${String(error)}`);
          await sleep(200);
        }
      }
    };
    await retried('a write', () => nodes.put(node('after-kill', '1')));
    const writtenAt = Date.now();
    const stored = await retried('a read', () => nodes.current());
    for (const key of [...Array.from({ length: 20 }, (_, i) => `before-${i}`), 'after-kill'])
      assert.ok(stored.has(key), `${key} kept`);
    await until(() => seen.some((c) => c.type === 'put' && c.key === 'after-kill'), 'the write, watched', 20_000);
    t.diagnostic(`written ${writtenAt - killedAt} ms and watched ${Date.now() - killedAt} ms after the kill`);
  });
});

describe('bus - losing its server while cluster DNS is silent', () => {
  it('reconnects to another server at the address DNS gave last, and writes land again', async (t) => {
    // The servers tell clients nothing of each other: their names are the only way to them.
    const cluster = await startNatsCluster({ advertise: false });
    const names = cluster.urls.map((_, i) => `n${i + 1}.nats.berth.test`);
    const dns = await startDns(Object.fromEntries(names.map((name) => [name, '127.0.0.1']))).catch(
      async (error: unknown) => {
        await cluster.stop();
        throw error;
      },
    );
    const systemServers = dnsModule.getServers();
    dnsModule.setServers([dns.server]);
    const { logger, lines } = capturingLogger();
    // In this order: the client first, or it would go on looking for servers that are gone.
    const cleanUp = async (bus?: Bus) => {
      await bus?.close();
      dnsModule.setServers(systemServers);
      await dns.stop();
      await cluster.stop();
    };
    const bus = await connectBus(
      {
        ...cluster.as('rig').config,
        natsServers: cluster.urls.map((url, i) => url.replace('127.0.0.1', names[i] ?? '')),
        natsReplicas: 3,
      },
      { name: 'client', identity: 'watcher', logger },
    ).catch(async (error: unknown) => {
      await cleanUp();
      throw error;
    });
    t.after(() => cleanUp(bus));
    await bus.ensureTopology();
    const nodes = await bus.bucket(Buckets.nodes);
    await nodes.put(node('before', '1'));
    const server = String(lines.find((l) => l.msg === 'connected to NATS')?.['server']);
    const on = names.findIndex((name) => server.startsWith(`${name}:`));
    assert.ok(on >= 0, `connected to one of the named servers: ${server}`);

    // The lost node took the DNS pod with it: questions go unanswered from now on.
    dns.silence();
    const killedAt = Date.now();
    await cluster.kill(on);
    let landed = false;
    let lastError: unknown;
    for (const deadline = Date.now() + 60_000; !landed && Date.now() < deadline;) {
      try {
        await nodes.put(node('after', '1'));
        landed = true;
      } catch (error) {
        lastError = error;
        await sleep(200);
      }
    }
    assert.ok(landed, `no write landed within 60 s of losing ${names[on]} with DNS silent: ${String(lastError)}`);
    t.diagnostic(`a write landed ${Date.now() - killedAt} ms after the client's server died, DNS silent`);
  });
});

describe('bus - heartbeats on a three-server cluster', () => {
  it('keep arriving while the server leading their bucket’s stream is SIGKILLed, never silent for a health timeout', async (t) => {
    const cluster = await startNatsCluster();
    const { logger } = capturingLogger();
    const on = (server: number, name: string) =>
      connectBus(
        // That server alone (nats.js would shuffle a list): the others it learns from the cluster.
        { ...cluster.as('rig').config, natsServers: [cluster.urls[server] ?? ''], natsReplicas: 3 },
        { name, identity: 'node-agent', node: name, logger },
      );
    // The server to kill leads the bucket's stream: its writes then wait for a new leader.
    const setup = await on(0, 'setup');
    await setup.ensureTopology();
    const raw = await connect({ servers: [...cluster.urls], user: 'rig', pass: cluster.as('rig').password });
    const info = await (await raw.jetstreamManager()).streams.info(`KV_${Buckets.nodeHealth.name}`);
    await Promise.all([raw.close(), setup.close()]);
    const leader = Number(info.cluster?.leader?.slice(1)) - 1; // the rig names its servers n1, n2, n3
    const [other = 0, third = 0] = [0, 1, 2].filter((i) => i !== leader);
    // One agent on the server that dies, one on a server that stays; the reader on the third.
    const [doomed, staying, reader] = await Promise.all([
      on(leader, 'doomed'),
      on(other, 'staying'),
      on(third, 'reader'),
    ]);
    const stop = new AbortController();
    const { got, done } = receiveHeartbeats(reader, stop.signal);
    t.after(async () => {
      stop.abort();
      await done;
      await Promise.all([doomed.close(), staying.close(), reader.close()]);
      await cluster.stop();
    });
    // The same heartbeats stored too, as agents do, to show what a reader of the bucket would see.
    const store = await staying.bucket(Buckets.nodeHealth);
    const storedAt: number[] = [];
    const watching = (async () => {
      for await (const change of (await reader.bucket(Buckets.nodeHealth)).watch(stop.signal))
        if (change.type === 'put' && change.key === 'staying' && !change.stored) storedAt.push(Date.now());
    })();
    const beating = setInterval(() => {
      doomed.sendHeartbeat(heartbeat('doomed'));
      staying.sendHeartbeat(heartbeat('staying'));
      store.put(heartbeat('staying')).catch(() => undefined);
    }, 100);
    t.after(async () => {
      clearInterval(beating);
      stop.abort();
      await watching;
    });
    await until(() => got.some((b) => b.node === 'doomed') && got.some((b) => b.node === 'staying'), 'both heard');
    await sleep(1000);
    const killedAt = Date.now();
    await cluster.kill(leader);
    await sleep(3000);
    clearInterval(beating);
    const longestGap = (name: string) => {
      const times = got.filter((b) => b.node === name && b.at >= killedAt - 500).map((b) => b.at);
      return Math.max(...times.slice(1).map((at, i) => at - (times[i] ?? at)));
    };
    const storedGap = Math.max(...storedAt.slice(1).map((at, i) => at - (storedAt[i] ?? at)));
    t.diagnostic(
      `longest gap: ${longestGap('doomed')} ms from the agent on the killed server, ${longestGap('staying')} ms from the other; ${storedGap} ms between its stored heartbeats`,
    );
    // The health timeout (BERTH_NODE_HEALTH_TIMEOUT_MS, 500 ms): a longer silence would move VIPs.
    assert.ok(longestGap('staying') < 500, 'the agent on a surviving server is heard throughout');
    assert.ok(longestGap('doomed') < 500, 'the agent on the killed server is heard again within the timeout');
    assert.ok(got.filter((b) => b.at > killedAt + 2500).length >= 8, 'both still heard at the end');
  });
});

describe('bus - against a real nats-server', () => {
  let nats: RigNats;
  let raw: NatsConnection;
  before(async () => {
    nats = await startNats();
    raw = await connect({ servers: nats.url, user: 'rig', pass: nats.as('rig').password });
    await createTopology(nats.as('rig').config, createLogger('setup', 'silent'));
  });
  after(async () => {
    await raw.close();
    await nats.stop();
  });

  const config = () => nats.as('rig').config;

  it('refuses two kinds of credentials at once, naming them, before it connects', async () => {
    await assert.rejects(
      connectBus(
        { ...nats.as('watcher').config, natsTokenFile: '/var/run/secrets/berth/nats/token' },
        { name: 'both', identity: 'watcher', logger: createLogger('test', 'silent') },
      ),
      (error: unknown) =>
        error instanceof ConfigError && /BERTH_NATS_PASSWORD and BERTH_NATS_TOKEN_FILE are all set/.test(error.message),
    );
  });

  it('refuses to connect without the right credentials', async () => {
    const { logger } = capturingLogger();
    await assert.rejects(
      connectBus({ ...nats.as('rig').config, natsPassword: 'wrong' }, { name: 't', identity: 'watcher', logger }),
      /Authorization/i,
    );
  });

  it('watch yields current state, then initialized, then live puts and tombstones', async (t) => {
    const { logger } = capturingLogger();
    const bus = await connectBus(config(), { name: 'watch-test', identity: 'watcher', logger });
    t.after(() => bus.close());
    const nodes = await bus.bucket(Buckets.nodes);
    await nodes.put(node('node-a', '1'));
    await nodes.put(node('node-b', '1'));
    await nodes.delete('node-b');

    const abort = new AbortController();
    const seen: Change<NodeSnapshot>[] = [];
    const watching = (async () => {
      for await (const change of nodes.watch(abort.signal)) seen.push(change);
    })();
    await until(() => seen.some((c) => c.type === 'initialized'), 'initialized');
    assert.deepEqual(
      seen.map((c) => ('key' in c ? `${c.type}:${c.key}:${c.stored ? 'stored' : 'live'}` : c.type)),
      ['put:node-a:stored', 'deleted:node-b:stored', 'initialized'],
    );

    await nodes.put(node('node-c', '7'));
    await nodes.delete('node-a');
    await until(() => seen.length === 5, 'two live changes');
    assert.deepEqual(seen.slice(3), [
      {
        type: 'put',
        key: 'node-c',
        value: node('node-c', '7'),
        busRevision: (seen[3] as { busRevision: number }).busRevision,
        stored: false,
      },
      { type: 'deleted', key: 'node-a', busRevision: (seen[4] as { busRevision: number }).busRevision, stored: false },
    ]);
    assert.deepEqual(await nodes.get('node-c'), node('node-c', '7'));
    assert.deepEqual([...(await nodes.current()).keys()], ['node-c']);
    assert.equal(await nodes.get('node-a'), undefined);
    abort.abort();
    await watching;
  });

  it('reads every key while the keys are being rewritten (nats.js alone misses one in ~3 % of reads)', async (t) => {
    const { logger } = capturingLogger();
    const bus = await connectBus(config(), { name: 'rewrite-test', identity: 'watcher', logger });
    t.after(() => bus.close());
    const health = await bus.bucket(Buckets.nodeHealth);
    const keys = ['node-1', 'node-2', 'node-3'];
    const beat = (key: string) => health.put({ v: 1, key, revision: '1', at: Date.now(), ready: true, interfaces: [] });
    for (const key of keys) await beat(key);
    const writing = { on: true };
    const writers = keys.map(async (key, i) => {
      for (let n = 0; n < 10_000 && writing.on; n++) {
        await beat(key);
        await sleep(30 + 7 * i);
      }
    });
    const short: number[] = [];
    for (let read = 0; read < 1500; read++) {
      const size = (await health.current()).size;
      if (size < keys.length) short.push(size);
    }
    writing.on = false;
    await Promise.all(writers);
    assert.deepEqual(short, [], 'reads that missed a key');
  });

  it('drops a malformed snapshot with a log line naming its subject, counts it, and keeps watching', async (t) => {
    const { logger, lines } = capturingLogger();
    const registry = new Registry();
    const bus = await connectBus(config(), { name: 'invalid-test', identity: 'watcher', logger, registry });
    t.after(() => bus.close());
    const nodes = await bus.bucket(Buckets.nodes);
    const abort = new AbortController();
    const seen: Change<NodeSnapshot>[] = [];
    const watching = (async () => {
      for await (const change of nodes.watch(abort.signal)) seen.push(change);
    })();
    await until(() => seen.some((c) => c.type === 'initialized'), 'initialized');
    const before = seen.length;

    // Another writer puts garbage and a snapshot whose key disagrees with its entry.
    const kv = await raw.jetstream().views.kv(Buckets.nodes.name);
    await kv.put('node-x', '{"v":1,"key":"node-x"');
    await kv.put('node-y', JSON.stringify(node('node-z', '1')));
    await kv.put('node-w', JSON.stringify({ ...node('node-w', '1'), ready: 'yes' }));
    await nodes.put(node('node-ok', '1'));

    await until(() => seen.length > before, 'the valid snapshot after the bad ones');
    assert.deepEqual(
      seen.slice(before).map((c) => c.type === 'put' && c.key),
      ['node-ok'],
    );
    const dropped = lines.filter((l) => l['msg'] === 'dropped a snapshot that breaks its contract');
    assert.deepEqual(
      dropped.map((l) => l['subject']),
      ['$KV.berth_v1_nodes.node-x', '$KV.berth_v1_nodes.node-y', '$KV.berth_v1_nodes.node-w'],
    );
    assert.match(JSON.stringify(dropped[2]?.['problems']), /\/ready/);
    const metric = await registry.getSingleMetricAsString('berth_bus_messages_invalid_total');
    assert.match(metric, /berth_bus_messages_invalid_total\{source="berth_v1_nodes"\} 3/);
    abort.abort();
    await watching;
  });

  it('heartbeats go live to every reader; one on another node’s subject or breaking its contract is dropped; none while disconnected', async (t) => {
    const { logger, lines } = capturingLogger();
    const agentLog = capturingLogger();
    const registry = new Registry();
    const relay = await relayTo(nats.url);
    const agent = await connectBus(
      { ...config(), natsServers: [relay.url] },
      { name: 'agent', identity: 'watcher', logger: agentLog.logger },
    );
    const reader = await connectBus(config(), { name: 'reader', identity: 'watcher', logger, registry });
    const stop = new AbortController();
    const { got: heard, done: readerDone } = receiveHeartbeats(reader, stop.signal);
    const { got: own, done: agentDone } = receiveHeartbeats(agent, stop.signal);
    t.after(async () => {
      stop.abort();
      await Promise.all([readerDone, agentDone]);
      relay.accept();
      await Promise.all([agent.close(), reader.close()]);
      await relay.close();
    });
    await sleep(100);
    assert.equal(agent.sendHeartbeat(heartbeat('n1.example.net')), true);
    await until(() => heard.length === 1 && own.length === 1, 'the heartbeat, at the reader and back at its sender');
    assert.equal(heard[0]?.node, 'n1.example.net');

    raw.publish('berth.v1.heartbeats.n2', '{"v":1,');
    raw.publish('berth.v1.heartbeats.n2', JSON.stringify(heartbeat('n3')));
    raw.publish('berth.v1.heartbeats.n4', JSON.stringify({ ...heartbeat('n4'), ready: 'yes' }));
    agent.sendHeartbeat(heartbeat('n5'));
    await until(() => heard.length === 2, 'the valid heartbeat after the bad ones');
    assert.deepEqual(
      heard.map((b) => b.node),
      ['n1.example.net', 'n5'],
    );
    const dropped = lines.filter((l) => l['msg'] === 'dropped a heartbeat that breaks its contract');
    assert.equal(dropped.length, 3);
    assert.match(JSON.stringify(dropped[1]?.['problems']), /heartbeat of n3 came on another node's subject/);
    const metric = await registry.getSingleMetricAsString('berth_bus_messages_invalid_total');
    assert.match(metric, /source="berth\.v1\.heartbeats"\} 3/);
    assert.throws(() => agent.sendHeartbeat({ ...heartbeat('n1'), interfaces: [''] }), ContractViolationError);

    relay.drop();
    await until(() => agentLog.lines.some((l) => l['msg'] === 'disconnected from NATS'), 'the agent disconnected');
    assert.equal(agent.sendHeartbeat(heartbeat('late')), false, 'nothing sent while disconnected');
    relay.accept();
    await until(() => agent.sendHeartbeat(heartbeat('back')), 'sent again once reconnected', 5000);
    await until(() => heard.some((b) => b.node === 'back'), 'heard again');
    assert.ok(!heard.some((b) => b.node === 'late'), 'a heartbeat from the outage is never delivered late');
  });

  it('gives up a connection whose server went silent without closing it, within seconds, and connects anew', async (t) => {
    const { logger, lines } = capturingLogger();
    const relay = await relayTo(nats.url);
    const bus = await connectBus(
      { ...config(), natsServers: [relay.url] },
      { name: 'stale', identity: 'watcher', logger },
    );
    t.after(async () => {
      await bus.close();
      await relay.close();
    });
    const frozenAt = Date.now();
    relay.freeze();
    await until(() => lines.some((l) => l['msg'] === 'reconnected to NATS'), 'a new connection', 15_000);
    t.diagnostic(`reconnected ${Date.now() - frozenAt} ms after the server went silent`);
    const nodes = await bus.bucket(Buckets.nodes);
    await nodes.put(node('after-stale', '1'));
    assert.equal((await nodes.get('after-stale'))?.key, 'after-stale');
  });

  it('refuses to put a snapshot that breaks the contract', async (t) => {
    const { logger } = capturingLogger();
    const bus = await connectBus(config(), { name: 'put-test', identity: 'watcher', logger });
    t.after(() => bus.close());
    const nodes = await bus.bucket(Buckets.nodes);
    await assert.rejects(
      nodes.put({ ...node('bad', '1'), addresses: [{ type: 'InternalIP', address: 'nope' }] }),
      ContractViolationError,
    );
  });

  it('publishes CloudEvents into the events stream, once per id, and refuses invalid ones', async (t) => {
    const { logger } = capturingLogger();
    const bus: Bus = await connectBus(config(), { name: 'events-test', identity: 'watcher', logger });
    t.after(() => bus.close());
    const event: RouteWithdrawnEvent = {
      specversion: '1.0',
      id: 'evt-1',
      source: 'berth/route-publisher/test',
      type: 'dev.berth.route.withdrawn.v1',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      subject: '203.0.113.10',
      data: {
        prefix: '203.0.113.10/32',
        speaker: 'central',
        vip: '203.0.113.10',
        nextHops: [],
        communities: [],
        service: 'shop/web',
        serviceUid: 'u1',
        pool: 'public',
      },
    };
    await bus.publishEvent('routeWithdrawn', event);
    await bus.publishEvent('routeWithdrawn', event);
    await assert.rejects(
      bus.publishEvent('routeWithdrawn', { ...event, subject: 'not-an-ip' }),
      ContractViolationError,
    );

    const jsm = await raw.jetstreamManager();
    const info = await jsm.streams.info(EventsStream.name);
    assert.equal(info.state.messages, 1, 'the duplicate id is stored once');
    const stored = await jsm.streams.getMessage(EventsStream.name, { last_by_subj: 'berth.v1.events.route.withdrawn' });
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stored.data)), event);
  });

  it('read-only: reads what writers stored, creates no bucket or stream, and refuses to write', async (t) => {
    const { logger } = capturingLogger();
    const writer = await connectBus(config(), { name: 'writer', identity: 'watcher', logger });
    t.after(() => writer.close());
    await (await writer.bucket(Buckets.nodes)).put(node('seen-by-reader', '1'));
    const reader = await connectBus(config(), { name: 'reader', identity: 'watcher', logger, readOnly: true });
    t.after(() => reader.close());
    const read = await (await reader.bucket(Buckets.nodes)).current();
    assert.deepEqual(read.get('seen-by-reader'), node('seen-by-reader', '1'));

    const jsm = await raw.jetstreamManager();
    await jsm.streams.delete(`KV_${Buckets.peerSessions.name}`).catch(() => false);
    const absent = await reader.bucket(Buckets.peerSessions);
    assert.equal((await absent.current()).size, 0);
    assert.equal(await absent.get('any/one'), undefined);
    await assert.rejects(absent.delete('any/one'), /does not exist, and a read-only bus creates nothing/);
    await assert.rejects(jsm.streams.info(`KV_${Buckets.peerSessions.name}`), /stream not found/);
    assert.throws(() => reader.sendHeartbeat(heartbeat('n1')), /a read-only bus sends nothing/);
  });

  it('read-only: gives up on an unreachable NATS instead of retrying forever', async () => {
    const { logger } = capturingLogger();
    const started = Date.now();
    await assert.rejects(
      connectBus(
        { natsServers: ['nats://127.0.0.1:1'] },
        { name: 'reader', identity: 'watcher', logger, readOnly: true, connectTimeoutMs: 2000 },
      ),
      /CONNECTION_REFUSED|TIMEOUT/,
    );
    assert.ok(Date.now() - started < 5000);
  });

  it('after its connection drops, a watch reads again and yields only what changed meanwhile, then resumed', async (t) => {
    const { logger } = capturingLogger();
    const relay = await relayTo(nats.url);
    const writer = await connectBus(config(), { name: 'resume-writer', identity: 'watcher', logger });
    const reader = await connectBus(
      { ...config(), natsServers: [relay.url] },
      { name: 'resume-reader', identity: 'watcher', logger },
    );
    const written = await writer.bucket(Buckets.nodes);
    for (const key of ['keep', 'change', 'delete', 'purge']) await written.put(node(`r-${key}`, '1'));
    const seen = watchNodes(t, reader, [reader, writer, relay]);
    await until(() => seen.some((c) => c.type === 'initialized'), 'initialized');
    const before = seen.length;

    relay.drop();
    await written.put(node('r-change', '2'));
    await written.delete('r-delete');
    await written.put(node('r-new', '1'));
    // Gone without a tombstone, as an expired heartbeat is.
    await (
      await raw.jetstreamManager()
    ).streams.purge(`KV_${Buckets.nodes.name}`, {
      filter: `$KV.${Buckets.nodes.name}.r-purge`,
    });
    await sleep(300);
    relay.accept();
    await until(() => seen.some((c) => c.type === 'resumed'), 'resumed');
    const news = seen
      .slice(before)
      .filter((c) => !('key' in c) || c.key.startsWith('r-'))
      .map((c) => ('key' in c ? `${c.type}:${c.key}:${c.stored ? 'stored' : 'live'}` : c.type));
    assert.deepEqual(news, [
      'put:r-change:stored',
      'deleted:r-delete:stored',
      'put:r-new:stored',
      'deleted:r-purge:stored',
      'resumed',
    ]);
    const change = seen.slice(before).find((c) => c.type === 'put' && c.key === 'r-change');
    assert.equal(change?.type === 'put' && change.value.revision, '2');
    await written.put(node('r-live', '1'));
    await until(() => seen.some((c) => c.type === 'put' && c.key === 'r-live' && !c.stored), 'a live change after');
  });

  it('a watch goes on right after NATS is killed and restarted, not after nats.js misses two idle heartbeats (10 s)', async (t) => {
    const { logger } = capturingLogger();
    const writer = await connectBus(config(), { name: 'crash-writer', identity: 'watcher', logger });
    const reader = await connectBus(config(), { name: 'crash-reader', identity: 'watcher', logger });
    const written = await writer.bucket(Buckets.nodes);
    await written.put(node('c-before', '1'));
    const seen = watchNodes(t, reader, [reader, writer]);
    await until(() => seen.some((c) => c.type === 'initialized'), 'initialized');
    await nats.restart({ kill: true, downMs: 500 });
    await until(() => seen.some((c) => c.type === 'resumed'), 'resumed', 5000);
    // A write may meet a server whose JetStream is still starting: the writer retries, as heartbeats do.
    const deadline = Date.now() + 5000;
    let stored: number | undefined;
    for (let n = 1; !seen.some((c) => c.type === 'put' && c.key === 'c-after'); n++) {
      if (Date.now() > deadline)
        assert.fail(`the write after the restart was not seen within 5 s (first stored: ${stored})`);
      // Not awaited: a write the outage caught waits up to 5 s for its reply.
      void written.put(node('c-after', String(n))).then(
        () => (stored ??= n),
        () => undefined,
      );
      await sleep(100);
    }
  });

  it('reports unready while NATS is down and ready again after it returns', async (t) => {
    const { logger } = capturingLogger();
    const readiness = new Readiness();
    const bus = await connectBus(config(), { name: 'readiness-test', identity: 'watcher', logger, readiness });
    t.after(() => bus.close());
    assert.equal(readiness.isReady, true);
    const nodes = await bus.bucket(Buckets.nodes);

    const seen = new Set<string>();
    const sampler = setInterval(() => seen.add(readiness.reasons().join(',') || 'ready'), 10);
    t.after(() => clearInterval(sampler));
    await nats.restart({ downMs: 1500 });
    await until(() => seen.has('bus: disconnected from NATS'), 'unready during the outage', 5000);
    await until(() => readiness.isReady, 'ready again', 15_000);
    await nodes.put(node('after-restart', '1'));
    assert.deepEqual(await nodes.get('after-restart'), node('after-restart', '1'));
  });
});
