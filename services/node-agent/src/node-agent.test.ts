import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from 'nats';
import { eventSubject } from '@berth/bus';
import { run as berth } from '@berth/cli/run';
import { EventTypes, L2OwnerChangedEvent, validator } from '@berth/contracts';
import { answersPerRequest, L2Lab, type WireFrame } from './testing/index.js';

const VIP4 = '192.0.2.100';
const VIP6 = '2001:db8::100';

/** Fails when any broadcast request for `ip` got replies from more than one MAC. */
/**
 * Every request for `ip` in `frames` was answered by one node, except that each of `handovers`
 * (make-before-break: the new owner answers before the old one has heard it) may have one
 * request answered by both; returns how many requests were answered.
 */
async function assertOneAnswerEach(
  lab: L2Lab,
  frames: readonly WireFrame[],
  ip: string,
  { handovers = 0 } = {},
): Promise<number> {
  const windows = answersPerRequest(frames, ip, await lab.macOf('client'));
  const doubled = windows.filter((w) => w.length > 1);
  assert.ok(
    doubled.length <= handovers && doubled.every((w) => w.length === 2),
    `requests for ${ip} answered by two nodes at once: ${JSON.stringify(doubled)}`,
  );
  return windows.filter((w) => w.length >= 1).length;
}

/** Every request for `ip` in `frames` (but the last, still in flight) got an answer: no gap. */
async function assertNoGap(lab: L2Lab, frames: readonly WireFrame[], ip: string): Promise<void> {
  const windows = answersPerRequest(frames, ip, await lab.macOf('client')).slice(0, -1);
  const unanswered = windows.filter((w) => w.length === 0).length;
  // What the wire showed for the VIP, when some request went unanswered: who said what, when.
  const t0 = frames[0]?.t ?? 0;
  const wire = frames
    .filter((f) => f.ip === ip)
    .map((f) => `${Math.round((f.t - t0) * 1000)}ms ${f.kind} ${f.mac ?? f.from}`)
    .join('; ');
  assert.equal(unanswered, 0, `${unanswered} of ${windows.length} requests for ${ip} went unanswered: ${wire}`);
}

describe('node-agent: layer 2 in network namespaces', { timeout: 170_000 }, () => {
  let lab: L2Lab;
  let events: NatsConnection;
  /** Owner-changed events as received, with the local time of receipt. */
  const ownerEvents: { receivedAt: number; subject: string; event: unknown }[] = [];

  before(async () => {
    lab = await L2Lab.start({ nodes: 3 });
    events = await connect({ servers: lab.nats.url, user: 'rig', pass: lab.nats.as('rig').password });
    // Each agent publishes on its own node's subject.
    const sub = events.subscribe(`${EventTypes.l2OwnerChanged.subject}.>`);
    void (async () => {
      for await (const m of sub) ownerEvents.push({ receivedAt: Date.now(), subject: m.subject, event: m.json() });
    })();
    await lab.service('web', [VIP4, VIP6]);
    for (const node of lab.nodes) lab.startAgent(node.name);
    // Agents that come up one after another hand a VIP over as each appears (make-before-break,
    // up to a second): the tests begin once every agent has its view and the handovers are done.
    await Promise.all([...lab.agents.values()].map((agent) => agent.logged('view of the bus is current')));
    await sleep(1500);
  });

  after(async () => {
    if (process.env['BERTH_TEST_LOGS'] !== undefined)
      for (const [node, agent] of lab.agents)
        for (const line of agent.lines) console.log(node, JSON.stringify(line).slice(0, 300));
    await events.close();
    await lab.stop();
  });

  it('exactly one node answers ARP and NDP for a VIP, and nobody for other addresses', async () => {
    const owner4 = await lab.waitForOwner(VIP4);
    const owner6 = await lab.waitForOwner(VIP6);
    const macs4 = await lab.arping(VIP4, 3);
    assert.equal(macs4.length, 3, 'every request answered');
    assert.deepEqual([...new Set(macs4)], [await lab.macOf(owner4)]);
    // ndisc6 -m also prints the new owner's repeated unsolicited advertisements: same MAC.
    assert.deepEqual([...new Set(await lab.ndisc(VIP6))], [await lab.macOf(owner6)], 'answered by the owner alone');
    assert.deepEqual(await lab.arping('192.0.2.150', 2), [], 'not a VIP: no answer');
    assert.deepEqual(await lab.ndisc('2001:db8::150'), [], 'not a VIP: no answer');
    // A node's own address is answered by its kernel, not by an agent pretending.
    assert.deepEqual(await lab.arping(lab.nodes[1]?.ipv4 ?? ''), [await lab.macOf('node2')]);
    // The VIP is never put on an interface.
    for (const node of lab.nodes) {
      const addresses = await lab.lab.exec(node.netns, 'ip', '-br', 'addr');
      assert.doesNotMatch(addresses, /192\.0\.2\.100|2001:db8::100/);
    }
  });

  it('SIGKILL of the owner: another node announces the VIP and the client moves to it; never two answers at once; berth names the owner the agents do throughout', async (t) => {
    const owner = await lab.waitForOwner(VIP4);
    // The client's kernel learns the VIP's MAC, as any host that talked to it would.
    await lab.lab.exec(lab.client.netns, 'ping', '-c', '1', '-W', '1', VIP4).catch(() => undefined);
    assert.equal(await clientNeighbour(lab, VIP4), await lab.macOf(owner));
    const capture = await lab.capture();
    const probe = await lab.probe([VIP4, VIP6]);
    await sleep(500);
    // Only what is said from now on counts: while the agents came up, another may have owned it.
    const eventsBefore = ownerEvents.length;
    const asked = askBerth(lab, VIP4);
    await sleep(500);
    const killedAt = Date.now() / 1000;
    await lab.kill(owner);
    const next = await lab.waitForOwner(VIP4, { not: owner });
    const nextMac = await lab.macOf(next);
    await sleep(1000);
    const answers = await asked.stop();
    const garp = (await capture.frames()).find((f) => f.kind === 'garp' && f.ip === VIP4 && f.mac === nextMac);
    assert.ok(garp !== undefined, `no gratuitous ARP from ${next}`);
    assert.ok(garp.t > killedAt);
    t.diagnostic(`failover: ${Math.round((garp.t - killedAt) * 1000)} ms from SIGKILL to ${next}'s gratuitous ARP`);
    assert.equal(await clientNeighbour(lab, VIP4), nextMac, "the client's neighbour entry moved");
    const check = validator(L2OwnerChangedEvent);
    const received = ownerEvents.slice(eventsBefore).find(({ event }) => {
      const r = check.check(event);
      return r.ok && r.value.data.node === next && r.value.data.vip === VIP4;
    });
    const told = received === undefined ? undefined : check.check(received.event);
    assert.ok(
      told?.ok && received !== undefined,
      `no valid owner-changed event for ${next}: ${JSON.stringify(ownerEvents)}`,
    );
    assert.deepEqual(
      {
        previousNode: told.value.data.previousNode,
        service: told.value.data.service,
        source: told.value.source,
        subject: received.subject,
      },
      {
        previousNode: owner,
        service: 'shop/web',
        source: `berth/node-agent/${next}`,
        subject: eventSubject('l2OwnerChanged', next),
      },
    );
    const berthMoved = assertBerthAgrees(answers, {
      before: owner,
      after: next,
      movedAt: received.receivedAt,
      events: ownerEvents.slice(eventsBefore),
    });
    t.diagnostic(`berth asked ${answers.length} times; it named ${next} from ${berthMoved} ms after the agents moved`);

    // The killed agent comes back; the VIP returns to it by a handover: make-before-break, no gap.
    const returnedAt = Date.now() / 1000;
    lab.startAgent(owner);
    assert.equal(await lab.waitForOwner(VIP4, { not: next }), owner);
    await sleep(1000);
    await probe.stop();
    const frames = await capture.frames();
    await capture.stop();
    const answered4 = await assertOneAnswerEach(lab, frames, VIP4, { handovers: 1 });
    const answered6 = await assertOneAnswerEach(lab, frames, VIP6, { handovers: 1 });
    assert.ok(answered4 > 20 && answered6 > 20, `only ${answered4} / ${answered6} requests were answered`);
    const back = frames.filter((f) => f.t > returnedAt);
    await assertNoGap(lab, back, VIP4);
    await assertNoGap(lab, back, VIP6);
  });

  it('an owner cut off from the bus alone: another takes over within a second and the cut-off one steps back on seeing it', async (t) => {
    const owner = await lab.waitForOwner(VIP4);
    const ownerMac = await lab.macOf(owner);
    const capture = await lab.capture();
    const probe = await lab.probe([VIP4]);
    await sleep(500);
    const cutAt = Date.now() / 1000;
    lab.links.get(owner)?.cut();
    const next = await lab.waitForOwner(VIP4, { not: owner });
    await sleep(1000);
    const frames = (await capture.frames()).filter((f) => f.ip === VIP4 && f.t > cutAt);
    const nextMac = await lab.macOf(next);
    const takeover = frames.find((f) => f.kind === 'garp' && f.mac === nextMac);
    assert.ok(takeover !== undefined, `no gratuitous ARP from ${next}`);
    const lastOld = frames.filter((f) => f.kind === 'arp-reply' && f.mac === ownerMac).at(-1);
    const firstNew = frames.find((f) => (f.kind === 'arp-reply' || f.kind === 'garp') && f.mac === nextMac);
    const overlapMs =
      lastOld === undefined || firstNew === undefined ? 0 : Math.max(0, (lastOld.t - firstNew.t) * 1000);
    t.diagnostic(
      `takeover ${Math.round((takeover.t - cutAt) * 1000)} ms after the cut; both answered for ${overlapMs.toFixed(1)} ms`,
    );
    assert.ok(takeover.t - cutAt < 1.5, 'taken over within the timeout and a heartbeat or two');
    assert.ok(overlapMs < 100, `both answered for ${overlapMs} ms`);
    await lab.agents.get(owner)?.logged('another host announced the VIP; stepped back', 5000);

    // Back on the bus, it rejoins and takes the VIP back by a handover: make-before-break, no gap.
    lab.links.get(owner)?.restore();
    assert.equal(await lab.waitForOwner(VIP4, { not: next, timeoutMs: 20_000 }), owner);
    await sleep(1000);
    await probe.stop();
    const after = (await capture.frames()).filter((f) => f.t > takeover.t + 0.2);
    await capture.stop();
    await assertOneAnswerEach(lab, after, VIP4, { handovers: 1 });
    await assertNoGap(lab, after, VIP4);
  });

  it('a bus that is down for everyone (NATS killed, back after 3 s) changes nothing, then or after it returns: same owners, answers go on', async () => {
    const owner4 = await lab.waitForOwner(VIP4);
    const owner6 = await lab.waitForOwner(VIP6);
    const capture = await lab.capture();
    const probe = await lab.probe([VIP4, VIP6]);
    const since = Date.now();
    await lab.nats.restart({ downMs: 3000, kill: true });
    await sleep(2000);
    await probe.stop();
    const frames = (await capture.frames()).filter((f) => f.t * 1000 > since);
    await capture.stop();
    const ownerMacs = new Set([await lab.macOf(owner4), await lab.macOf(owner6)]);
    const clientMac = await lab.macOf('client');
    const answers = frames.filter((f) => f.kind === 'arp-reply' || f.kind === 'na');
    assert.ok(answers.length > 100, `only ${answers.length} answers while the bus was down`);
    assert.deepEqual(
      frames.filter((f) => f.mac !== undefined && !ownerMacs.has(f.mac) && f.from !== clientMac),
      [],
      'nobody else answered or announced',
    );
    for (const [node, agent] of lab.agents) {
      const moved = agent.lines.filter(
        (l) => Date.parse(String(l['time'])) > since && /answering for VIP|stopped answering/.test(l.msg ?? ''),
      );
      assert.deepEqual(moved, [], `${node} changed role`);
    }
  });
});

/** One answer of `berth`: the layer-2 owner it named for a VIP, and when it was asked and answered. */
interface BerthAnswer {
  readonly from: number;
  readonly to: number;
  readonly owner: string | undefined;
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : {};

/** The owner of `vip` in `berth status --json` (its `services` rows) or `explain --json` (its verdict's VIPs). */
function ownerIn(json: string, vip: string): string | undefined {
  const answer = record(JSON.parse(json));
  const rows = answer['services'] ?? record(answer['verdict'])['vips'];
  const row = (Array.isArray(rows) ? rows : []).map(record).find((r) => r['vip'] === vip);
  return typeof row?.['owner'] === 'string' ? row['owner'] : undefined;
}

/**
 * Asks `berth` (the CLI's own `run`, in this process, with the services' defaults) again and
 * again, alternating `status` and `explain`, for the owner of `vip`, until stopped.
 */
function askBerth(lab: L2Lab, vip: string): { stop(): Promise<BerthAnswer[]> } {
  const answers: BerthAnswer[] = [];
  const asked = { stop: false };
  const asking = (async () => {
    for (let i = 0; i < 500 && !asked.stop; i++) {
      const argv =
        i % 2 === 0 ? ['status', '--json', '--no-cluster'] : ['explain', 'shop/web', '--json', '--no-cluster'];
      let out = '';
      const from = Date.now();
      await berth(argv, lab.nats.as('cli').env, { out: (text) => (out += text), err: () => undefined });
      answers.push({ from, to: Date.now(), owner: ownerIn(out, vip) });
      await sleep(10);
    }
  })();
  return {
    async stop() {
      asked.stop = true;
      await asking;
      return answers;
    },
  };
}

/**
 * berth names the agents' owner throughout: the old one until the new one's owner-changed event,
 * the new one after it, either only within one heartbeat interval (and a pass) of the move, as
 * berth judges at the moment it reads while an agent judges as of its own last heartbeat.
 * Returns when (ms after the move) berth first named the new owner.
 */
function assertBerthAgrees(
  answers: readonly BerthAnswer[],
  expected: {
    before: string;
    after: string;
    movedAt: number;
    events: readonly { receivedAt: number; event: unknown }[];
  },
): number {
  const SLACK_MS = 250;
  const wrong = answers.filter(({ from, to, owner }) =>
    to < expected.movedAt - SLACK_MS
      ? owner !== expected.before
      : from > expected.movedAt + SLACK_MS
        ? owner !== expected.after
        : owner !== expected.before && owner !== expected.after,
  );
  const at = (a: BerthAnswer) =>
    `${a.owner ?? 'nobody'} at ${a.from - expected.movedAt}..${a.to - expected.movedAt} ms`;
  const told = expected.events.map(
    ({ receivedAt, event }) =>
      `${JSON.stringify(record(record(event)['data']))} at ${receivedAt - expected.movedAt} ms`,
  );
  assert.deepEqual(
    wrong.map(at),
    [],
    `berth disagreed with the agents (owner moved ${expected.before} → ${expected.after}; the agents said ${told.join(', ')})`,
  );
  const before = answers.filter((a) => a.to < expected.movedAt - SLACK_MS).length;
  const after = answers.filter((a) => a.from > expected.movedAt + SLACK_MS).length;
  assert.ok(before >= 3 && after >= 3, `berth asked too seldom: ${before} times before the move, ${after} after`);
  const first = answers.find((a) => a.owner === expected.after);
  return first === undefined ? Number.NaN : first.to - expected.movedAt;
}

/** The MAC the client's kernel holds for `ip`. */
async function clientNeighbour(lab: L2Lab, ip: string): Promise<string | undefined> {
  const out = await lab.lab.exec(lab.client.netns, 'ip', '-j', 'neigh', 'show', ip, 'dev', 'eth0');
  const [entry] = JSON.parse(out === '' ? '[]' : out) as { lladdr?: string }[];
  return entry?.lladdr;
}
