import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { connect, type NatsConnection } from 'nats';
import { Buckets, connectBus, type Bus } from '@berth/bus';
import { createLogger } from '@berth/runtime';
import { startBerthProcess, startGobgp, startNats, type BerthProcess, type RigGobgp, type RigNats } from '@berth/rig';
import { GobgpBackend } from './gobgp/gobgp-backend.js';
import { BgpWorld, ROUTE_PUBLISHER_MAIN } from './test-world.js';

const schemas = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'schemas');

/** Polls until `probe` returns what `expected` says, or fails showing the last value seen. */
async function eventually<T>(what: string, probe: () => Promise<T>, expected: T, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await sleep(50);
  }
  assert.deepEqual(last, expected, what);
}

describe('route-publisher against real NATS and gobgpd', () => {
  let nats: RigNats;
  let gobgp: RigGobgp;
  let bus: Bus;
  let world: BgpWorld;
  let speaker: GobgpBackend;
  let publisher: BerthProcess;
  let events: NatsConnection;
  const received: { subject: string; event: Record<string, unknown> }[] = [];
  /** Node-agents as the test plays them: each beats every 300 ms with its readiness, or is silent. */
  const agents = new Map<string, 'ready' | 'unready' | 'silent'>();
  let beating: NodeJS.Timeout | undefined;
  const HEALTH_TIMEOUT_MS = 2000;

  /** Next hops per prefix in gobgpd's global RIB, as `prefix → sorted next hops`. */
  const rib = async () => {
    const byPrefix: Record<string, string[]> = {};
    for (const path of (await speaker.listPaths()).values()) (byPrefix[path.prefix] ??= []).push(path.nextHop);
    for (const hops of Object.values(byPrefix)) hops.sort();
    return byPrefix;
  };

  before(async () => {
    [nats, gobgp] = await Promise.all([startNats(), startGobgp()]);
    bus = await connectBus(nats.as('rig').config, {
      name: 'test',
      identity: 'watcher',
      logger: createLogger('test', 'silent'),
    });
    // Playing the watcher, which makes the buckets.
    await bus.ensureTopology();
    world = await BgpWorld.open(bus);
    speaker = new GobgpBackend(gobgp.target);
    events = await connect({ servers: nats.url, user: 'rig', pass: nats.as('rig').password });
    const sub = events.subscribe('berth.v1.events.route.>');
    void (async () => {
      for await (const m of sub) received.push({ subject: m.subject, event: m.json<Record<string, unknown>>() });
    })();
    await world.bgpConfig();
    await world.pool(['203.0.113.0/24', '2001:db8:1::/120'], {
      bgp: { communities: ['64512:100'], localPref: 150, peers: [] },
    });
    for (const [i, name] of ['n1', 'n2', 'n3'].entries()) {
      await world.node(name, [`192.0.2.${11 + i}`, `2001:db8::${11 + i}`]);
      agents.set(name, 'ready');
    }
    beating = setInterval(() => {
      for (const [name, state] of agents)
        if (state !== 'silent') world.heartbeat(name, state === 'ready').catch(() => undefined);
    }, 300);
    publisher = startBerthProcess(ROUTE_PUBLISHER_MAIN, {
      ...nats.as('route-publisher').env,
      BERTH_GOBGP_TARGET: gobgp.target,
      BERTH_SPEAKER_NAME: 'central-0',
      BERTH_NODE_HEALTH_TIMEOUT_MS: String(HEALTH_TIMEOUT_MS),
      BERTH_LOG_LEVEL: 'debug',
    });
    await publisher.logged('started');
  });
  after(async () => {
    clearInterval(beating);
    publisher.child.kill('SIGKILL');
    speaker.close();
    await events.close();
    await bus.close();
    await Promise.all([gobgp.stop(), nats.stop()]);
  });

  it('starts the speaker once and announces a VIP once per healthy node, IPv4 and IPv6 (ADD-PATH)', async () => {
    await world.service('web', ['203.0.113.10', '2001:db8:1::10'], {
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'RequireDualStack',
    });
    await eventually('both families via all three nodes', rib, {
      '203.0.113.10/32': ['192.0.2.11', '192.0.2.12', '192.0.2.13'],
      '2001:db8:1::10/128': ['2001:db8::11', '2001:db8::12', '2001:db8::13'],
    });
    const global = await gobgp.cli('global');
    assert.match(global, /AS:\s+64512/);
    assert.match(global, /Router-ID:\s+192\.0\.2\.1/);
    const attrs = await gobgp.cli('global', 'rib', '203.0.113.10/32');
    assert.match(attrs, /Communities: 64512:100/);
    assert.match(attrs, /LocalPref: 150/);
  });

  it('follows endpoints for externalTrafficPolicy Local, and node health', async () => {
    await world.service('api', ['203.0.113.20'], { externalTrafficPolicy: 'Local' });
    await world.readyEndpoints('api', { n1: 1, n3: 2 });
    await eventually('Local: nodes with ready endpoints', async () => (await rib())['203.0.113.20/32'], [
      '192.0.2.11',
      '192.0.2.13',
    ]);
    await world.readyEndpoints('api', { n3: 1 });
    await eventually('n1 lost its endpoint', async () => (await rib())['203.0.113.20/32'], ['192.0.2.13']);
    agents.set('n3', 'unready');
    await eventually('no node left: withdrawn', async () => (await rib())['203.0.113.20/32'], undefined);
    await eventually('web lost n3 too', async () => (await rib())['203.0.113.10/32'], ['192.0.2.11', '192.0.2.12']);
    agents.set('n3', 'ready');
    await eventually('n3 back', async () => (await rib())['203.0.113.20/32'], ['192.0.2.13']);
    // A node-agent that goes silent is out once its last heartbeat is older than the timeout.
    agents.set('n2', 'silent');
    await eventually('n2 silent: out', async () => (await rib())['203.0.113.10/32'], ['192.0.2.11', '192.0.2.13']);
    agents.set('n2', 'ready');
    await eventually('n2 back', async () => (await rib())['203.0.113.10/32'], [
      '192.0.2.11',
      '192.0.2.12',
      '192.0.2.13',
    ]);
  });

  it('withdraws exactly the deleted Service’s paths and nothing else', async () => {
    await world.deleteService('api');
    await eventually('api gone, web kept', async () => Object.keys(await rib()).sort(), [
      '2001:db8:1::10/128',
      '203.0.113.10/32',
    ]);
  });

  it('adds BGP neighbors from BGPPeers, changes only the changed one, and removes them', async () => {
    await world.peer('tor-a', '192.0.2.254');
    await world.peer('tor-b', '192.0.2.253');
    const neighbors = async () => (await speaker.listPeers()).map((p) => `${p.address}:${p.holdTimeSeconds}`).sort();
    await eventually('two neighbors', neighbors, ['192.0.2.253:9', '192.0.2.254:9']);
    await world.peer('tor-b', '192.0.2.253', { holdTimeSeconds: 30, keepaliveTimeSeconds: 10 });
    await eventually('tor-b changed', neighbors, ['192.0.2.253:30', '192.0.2.254:9']);
    // The log line follows the AddPeer call that the listing above may already show.
    await publisher.logged('BGP neighbor changed');
    const changes = publisher.lines.filter((l) => l.msg === 'BGP neighbor changed').map((l) => l['peer']);
    assert.deepEqual(changes, ['tor-b']);
    // Session state comes back through the bus for BGPPeer status.
    const sessions = await bus.bucket(Buckets.peerSessions);
    await eventually('sessions published', async () => [...(await sessions.current()).keys()].sort(), [
      'tor-a/central-0',
      'tor-b/central-0',
    ]);
    await world.peers.delete('tor-b');
    await eventually('tor-b removed', neighbors, ['192.0.2.254:9']);
    await eventually('its session is gone', async () => [...(await sessions.current()).keys()], ['tor-a/central-0']);
  });

  it('gobgpd killed and restarted: every route comes back without anyone touching it', async () => {
    const before = await rib();
    await gobgp.kill();
    await sleep(500);
    await gobgp.restart();
    await eventually('routes back', rib, before, 20_000);
    assert.ok(publisher.lines.some((l) => l.msg === 'BGP speaker started' && l['outcome'] === 'started'));
    await eventually('neighbors back', async () => (await speaker.listPeers()).map((p) => p.address), ['192.0.2.254']);
  });

  it('fail static: with NATS gone, routes stay (even past the health timeout) and come back in sync', async () => {
    const before = await rib();
    // Down for twice the health timeout: no heartbeat arrives, yet no node is declared dead.
    await nats.restart({ downMs: 2 * HEALTH_TIMEOUT_MS });
    assert.deepEqual(await rib(), before);
    await sleep(HEALTH_TIMEOUT_MS / 2);
    assert.deepEqual(await rib(), before);
    // JetStream takes a moment to recover its streams after a restart.
    await eventually(
      'the bus takes writes again (the last error, if not)',
      () =>
        world.service('late', ['203.0.113.30']).then(
          () => 'written',
          (error: unknown) => String(error),
        ),
      'written',
      20_000,
    );
    await eventually('a change after the bus returns still lands', async () => (await rib())['203.0.113.30/32'], [
      '192.0.2.11',
      '192.0.2.12',
      '192.0.2.13',
    ]);
  });

  it('publishes route events that validate against the published JSON Schemas', async () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    const validators = new Map(
      ['announced', 'changed', 'withdrawn'].map((t) => {
        const file = join(schemas, `dev.berth.route.${t}.v1.schema.json`);
        return [t, ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object)];
      }),
    );
    await eventually('events seen', () => Promise.resolve(received.length > 0), true);
    for (const { subject, event } of received) {
      const kind = subject.split('.').at(-1) ?? '';
      const validate = validators.get(kind);
      assert.ok(validate, `unexpected subject ${subject}`);
      assert.ok(validate(event), JSON.stringify(validate.errors));
    }
    const story = received
      .filter((r) => r.event['subject'] === '203.0.113.20')
      .map((r) => [r.subject.split('.').at(-1), (r.event['data'] as { nextHops: string[] }).nextHops.join(' ')]);
    assert.deepEqual(story, [
      ['announced', '192.0.2.11 192.0.2.13'],
      ['changed', '192.0.2.13'],
      ['withdrawn', '192.0.2.13'],
      ['announced', '192.0.2.13'],
      ['withdrawn', '192.0.2.13'],
    ]);
    const web = received.find((r) => r.event['subject'] === '203.0.113.10');
    assert.deepEqual(web?.event['data'], {
      prefix: '203.0.113.10/32',
      vip: '203.0.113.10',
      nextHops: ['192.0.2.11', '192.0.2.12', '192.0.2.13'],
      communities: ['64512:100'],
      localPref: 150,
      speaker: 'central-0',
      service: 'shop/web',
      serviceUid: 'uid-web',
      pool: 'public',
    });
  });

  it('a new speaker is ready only once its BGP sessions are established, or after the timeout', async (t) => {
    // A peer that never answers: the speaker waits for it, then gives up waiting and says which.
    await world.peer('ghost', '192.0.2.99');
    const second = await startGobgp();
    const proc = startBerthProcess(ROUTE_PUBLISHER_MAIN, {
      ...nats.as('route-publisher').env,
      BERTH_GOBGP_TARGET: second.target,
      BERTH_SPEAKER_NAME: 'central-1',
      BERTH_HEALTH_PORT: '0',
      BERTH_SESSIONS_READY_TIMEOUT_MS: '3000',
    });
    t.after(async () => {
      proc.child.kill('SIGKILL');
      await second.stop();
      await world.peers.delete('ghost');
    });
    const { port } = (await proc.logged('health server listening')) as { port: number };
    await proc.logged('BGP neighbor added');
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: res.status, body: await res.text() };
    };
    const waiting = await readyz();
    assert.equal(waiting.status, 503);
    assert.match(waiting.body, /sessions: waiting for the BGP sessions to be established/);
    const late = await proc.logged('BGP sessions not established in time; ready anyway');
    assert.ok((late['peers'] as string[]).includes('ghost'), `the warning names the peer: ${JSON.stringify(late)}`);
    await eventually('ready after the timeout', async () => (await readyz()).status, 200);
  });
});
