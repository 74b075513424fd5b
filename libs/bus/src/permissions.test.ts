import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, ErrorCode, Events, type NatsConnection } from 'nats';
import { createLogger } from '@berth/runtime';
import { startNats, type RigNats } from '@berth/rig';
import { createTopology } from './bus.js';
import {
  AUTH_CALLOUT_SUBJECT,
  BusIdentities,
  busPermissions,
  eventSubject,
  inboxPrefix,
  type BusIdentity,
} from './permissions.js';
import { Buckets, EventsStream, HeartbeatSubjects } from './topology.js';
import { EventTypes } from '@berth/contracts';

type BucketName = keyof typeof Buckets;

/**
 * What each identity may do, written out by hand from ARCHITECTURE.md's one-writer table (not
 * derived from `BusGrants`, so a wrong grant there fails here). Every probe not listed for an
 * identity must be refused by the server.
 */
const readsOf: Record<BusIdentity, readonly BucketName[]> = {
  watcher: [
    'services',
    'endpoints',
    'nodes',
    'namespaces',
    'pools',
    'bgpPeers',
    'bgpPeerSecrets',
    'bgpConfig',
    'allocations',
    'peerSessions',
  ],
  ipam: ['services', 'pools', 'namespaces', 'allocations'],
  'route-publisher': [
    'allocations',
    'services',
    'endpoints',
    'nodes',
    'pools',
    'nodeHealth',
    'bgpPeers',
    'bgpPeerSecrets',
    'bgpConfig',
    'peerSessions',
  ],
  'node-agent': ['allocations', 'services', 'endpoints', 'nodes', 'pools', 'nodeHealth'],
  cli: [
    'services',
    'endpoints',
    'nodes',
    'namespaces',
    'pools',
    'bgpPeers',
    'bgpConfig',
    'allocations',
    'nodeHealth',
    'peerSessions',
  ],
  events: [],
  'bus-auth': [],
};
const writesOf: Record<BusIdentity, readonly BucketName[]> = {
  watcher: ['services', 'endpoints', 'nodes', 'namespaces', 'pools', 'bgpPeers', 'bgpPeerSecrets', 'bgpConfig'],
  ipam: ['allocations'],
  'route-publisher': ['peerSessions'],
  'node-agent': ['nodeHealth'],
  cli: [],
  events: [],
  'bus-auth': [],
};
const eventsOf: Record<BusIdentity, readonly (keyof typeof EventTypes)[]> = {
  watcher: [],
  ipam: ['vipAssigned', 'vipReleased'],
  'route-publisher': ['routeAnnounced', 'routeChanged', 'routeWithdrawn'],
  'node-agent': ['l2OwnerChanged'],
  cli: [],
  events: [],
  'bus-auth': [],
};

/** The node whose node-agent is tried, and another. */
const NODE = 'node-1';
const OTHER = 'node-2';

/** One thing a client may try on the bus. */
interface Probe {
  readonly name: string;
  readonly allowed: (id: BusIdentity) => boolean;
  readonly run: (nc: NatsConnection) => Promise<unknown>;
}

const kvName = (bucket: BucketName) => Buckets[bucket].name;
const probes: Probe[] = [];
for (const bucket of Object.keys(Buckets) as BucketName[]) {
  const name = kvName(bucket);
  const reads = (id: BusIdentity) => readsOf[id].includes(bucket);
  probes.push(
    {
      name: `${name}: stream info`,
      // The watcher looks at every stream it makes.
      allowed: (id) => reads(id) || id === 'watcher',
      run: async (nc) => (await nc.jetstreamManager({ timeout: 2000 })).streams.info(`KV_${name}`),
    },
    {
      name: `${name}: get`,
      allowed: reads,
      run: async (nc) =>
        (await nc.jetstream({ timeout: 2000 }).views.kv(name, { bindOnly: true, allow_direct: true })).get('probe'),
    },
    {
      name: `${name}: stored get`,
      allowed: reads,
      run: async (nc) => (await nc.jetstream({ timeout: 2000 }).views.kv(name, { bindOnly: true })).get('probe'),
    },
    {
      name: `${name}: watch`,
      allowed: reads,
      run: async (nc) => {
        const kv = await nc.jetstream({ timeout: 2000 }).views.kv(name, { bindOnly: true });
        // Reading the keys takes a consumer, as a watch does.
        for await (const key of await kv.keys()) assert.equal(typeof key, 'string');
      },
    },
    {
      // The node-agent under test is node-1's: the key of its own node.
      name: `${name}: write`,
      allowed: (id) => writesOf[id].includes(bucket),
      run: (nc) => nc.jetstream({ timeout: 2000 }).publish(`$KV.${name}.${NODE}`, '{}'),
    },
    {
      name: `${name}: subscribe to its subjects`,
      allowed: () => false,
      run: (nc) => subscribe(nc, `$KV.${name}.>`),
    },
  );
}
for (const event of Object.keys(EventTypes) as (keyof typeof EventTypes)[]) {
  const subject = eventSubject(event, NODE);
  probes.push({
    name: `publish ${subject}`,
    allowed: (id) => eventsOf[id].includes(event),
    run: (nc) => nc.jetstream({ timeout: 2000 }).publish(subject, '{}'),
  });
}
probes.push(
  {
    name: 'events stream: follow',
    allowed: (id) => id === 'events',
    run: async (nc) => {
      const consumer = await nc.jetstream({ timeout: 2000 }).consumers.get(EventsStream.name);
      await consumer.next({ expires: 1000 });
    },
  },
  {
    name: 'events: subscribe live',
    allowed: (id) => id === 'events',
    run: (nc) => subscribe(nc, 'berth.v1.events.>'),
  },
  {
    name: 'heartbeat: send',
    allowed: (id) => id === 'node-agent',
    run: async (nc) => {
      nc.publish(HeartbeatSubjects.of(NODE), '{}');
      await nc.flush();
    },
  },
  {
    name: `heartbeat: send as ${OTHER}`,
    allowed: () => false,
    run: async (nc) => {
      nc.publish(HeartbeatSubjects.of(OTHER), '{}');
      await nc.flush();
    },
  },
  {
    name: `node health: write ${OTHER}'s entry`,
    allowed: () => false,
    run: (nc) => nc.jetstream({ timeout: 2000 }).publish(`$KV.${kvName('nodeHealth')}.${OTHER}`, '{}'),
  },
  {
    name: `node health: write every entry`,
    allowed: () => false,
    run: (nc) => nc.jetstream({ timeout: 2000 }).publish(`$KV.${kvName('nodeHealth')}.>`, '{}'),
  },
  {
    name: `publish a layer-2 owner change as ${OTHER}`,
    allowed: () => false,
    run: (nc) => nc.jetstream({ timeout: 2000 }).publish(eventSubject('l2OwnerChanged', OTHER), '{}'),
  },
  {
    name: `${OTHER}'s replies`,
    allowed: () => false,
    run: (nc) => subscribe(nc, `${inboxPrefix('node-agent', OTHER)}.>`),
  },
  {
    name: 'heartbeats: receive',
    allowed: (id) => id === 'node-agent' || id === 'route-publisher' || id === 'cli',
    run: (nc) => subscribe(nc, HeartbeatSubjects.all),
  },
  {
    name: 'events stream: change its settings',
    allowed: (id) => id === 'watcher',
    run: async (nc) => {
      const jsm = await nc.jetstreamManager({ timeout: 2000 });
      await jsm.streams.update(EventsStream.name, { subjects: [...EventsStream.subjects] });
    },
  },
  {
    name: 'allocations: purge',
    allowed: () => false,
    run: async (nc) => (await nc.jetstreamManager({ timeout: 2000 })).streams.purge(`KV_${kvName('allocations')}`),
  },
  {
    name: 'node health: delete the bucket',
    allowed: () => false,
    run: async (nc) => (await nc.jetstreamManager({ timeout: 2000 })).streams.delete(`KV_${kvName('nodeHealth')}`),
  },
  {
    name: 'a stream of its own',
    allowed: () => false,
    run: async (nc) =>
      (await nc.jetstreamManager({ timeout: 2000 })).streams.add({ name: 'PROBE', subjects: ['probe.>'] }),
  },
  {
    name: "route-publisher's replies",
    allowed: (id) => id === 'route-publisher',
    run: (nc) => subscribe(nc, `${inboxPrefix('route-publisher')}.>`),
  },
  {
    name: 'auth callout: receive the server’s questions',
    allowed: (id) => id === 'bus-auth',
    run: (nc) => subscribe(nc, AUTH_CALLOUT_SUBJECT),
  },
  {
    name: 'every reply (_INBOX.>)',
    allowed: () => false,
    run: (nc) => subscribe(nc, '_INBOX.>'),
  },
  {
    name: 'everything (>)',
    allowed: () => false,
    run: (nc) => subscribe(nc, '>'),
  },
);

/** Subscribes and waits for the server to have read the SUB (a violation comes back before the PONG). */
async function subscribe(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject);
  await nc.flush();
  sub.unsubscribe();
}

/**
 * Runs one probe as one identity on its own connection: `refused` when the server says so (a
 * permissions violation), `allowed` when it succeeds. Anything else fails the test.
 */
async function attempt(nats: RigNats, id: BusIdentity, probe: Probe): Promise<'allowed' | 'refused'> {
  const access = id === 'node-agent' ? await nats.nodeAgent(NODE) : nats.as(id);
  const nc = await connect({
    servers: nats.url,
    user: access.user,
    pass: access.password,
    inboxPrefix: inboxPrefix(id, NODE),
  });
  let violation = false;
  const refused = new Promise<'refused'>((resolve) => {
    void (async () => {
      for await (const status of nc.status()) {
        const code: unknown = status.data;
        if (status.type === Events.Error && code === ErrorCode.PermissionsViolation) {
          violation = true;
          resolve('refused');
        }
      }
    })();
  });
  try {
    return await Promise.race([
      probe.run(nc).then(
        async () => {
          // A violation for a publish comes back asynchronously: give it a round trip.
          await nc.flush();
          await sleep(20);
          return violation ? ('refused' as const) : ('allowed' as const);
        },
        async (error: unknown) => {
          await sleep(20);
          if (violation || /permissions[ _]violation/i.test(String(error))) return 'refused' as const;
          throw new Error(`${id} / ${probe.name} failed, but not for want of permission: ${String(error)}`);
        },
      ),
      refused,
    ]);
  } finally {
    await nc.close();
  }
}

describe('bus permissions - each identity against a real nats-server', () => {
  let nats: RigNats;
  before(async () => {
    nats = await startNats();
    await createTopology(nats.as('watcher').config, createLogger('setup', 'silent'));
  });
  after(() => nats.stop());

  it('makes every bucket and the events stream as the watcher, from an empty server', async () => {
    const raw = await connect({ servers: nats.url, user: 'rig', pass: nats.as('rig').password });
    const names = await (await raw.jetstreamManager()).streams.names().next();
    await raw.close();
    assert.deepEqual(
      [...names].sort(),
      [EventsStream.name, ...Object.values(Buckets).map((b) => `KV_${b.name}`)].sort(),
    );
  });

  for (const id of BusIdentities) {
    it(`${id}: allowed exactly what the one-writer table gives it, refused the rest`, async (t) => {
      const outcomes = { allowed: [] as string[], refused: [] as string[] };
      const wrong: string[] = [];
      for (const probe of probes) {
        const outcome = await attempt(nats, id, probe);
        outcomes[outcome].push(probe.name);
        if ((outcome === 'allowed') !== probe.allowed(id)) wrong.push(`${probe.name}: ${outcome}`);
      }
      t.diagnostic(`allowed ${outcomes.allowed.length}, refused ${outcomes.refused.length}`);
      assert.deepEqual(wrong, [], `${id} differs from the table`);
    });
  }

  it('a node-agent’s permissions name its node; a dotted node name stays one inbox token, so node a cannot read node a.b’s replies', () => {
    assert.ok(busPermissions('node-agent').publish.allow.includes('berth.v1.heartbeats.{node}'), 'the template');
    const dotted = busPermissions('node-agent', 'a.b');
    assert.ok(dotted.publish.allow.includes('berth.v1.heartbeats.a.b'));
    assert.ok(dotted.publish.allow.includes(`$KV.${kvName('nodeHealth')}.a.b`));
    assert.deepEqual(
      dotted.subscribe.allow.filter((s) => s.startsWith('_INBOX')),
      ['_INBOX.node-agent.a_b.>'],
    );
    assert.deepEqual(
      busPermissions('node-agent', 'a').subscribe.allow.filter((s) => s.startsWith('_INBOX')),
      ['_INBOX.node-agent.a.>'],
    );
  });

  it('the generated permissions never let anyone but route-publisher and the watcher near BGP passwords', () => {
    const secrets = `KV_${kvName('bgpPeerSecrets')}`;
    for (const id of BusIdentities) {
      const subjects = [...busPermissions(id).publish.allow, ...busPermissions(id).subscribe.allow];
      const touches = subjects.some((s) => s.includes(secrets) || s.includes(`$KV.${kvName('bgpPeerSecrets')}`));
      assert.equal(touches, id === 'route-publisher' || id === 'watcher', id);
      // No identity may subscribe with a wildcard that covers another's replies.
      for (const s of busPermissions(id).subscribe.allow)
        assert.ok(!['>', '_INBOX.>', '$KV.>'].includes(s), `${id}: ${s}`);
    }
  });
});
