import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Buckets, type SnapshotBucket } from '@berth/bus';
import type { NodeHealthSnapshot } from '@berth/contracts';
import { ROUTE_PUBLISHER_MAIN } from '@berth/route-publisher/test-world';
import {
  freePort,
  startBerthProcess,
  startGobgp,
  startRedis,
  type BerthProcess,
  type RigGobgp,
  type RigRedis,
} from '@berth/rig';
import { lbService, startTestCluster, WATCHER_MAIN, type TestCluster } from '@berth/watcher/test-cluster';

const here = dirname(fileURLToPath(import.meta.url));
/** The built CLI, run as a child process so the test covers the shell too. */
const BERTH = join(here, 'main.js');
const IPAM_MAIN = join(here, '..', '..', 'services', 'ipam', 'dist', 'main.js');
/** Where the upstream router (a second gobgpd) listens: its own loopback address, so the sessions are told apart. */
const ROUTER = '127.0.0.2';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

describe('berth CLI - against the watcher, ipam, route-publisher, kube-apiserver, NATS, Redis and gobgpd', () => {
  let cluster: TestCluster;
  let redis: RigRedis;
  let speaker: RigGobgp;
  let router: RigGobgp;
  let health: SnapshotBucket<NodeHealthSnapshot>;
  let beating: NodeJS.Timeout | undefined;
  const procs: BerthProcess[] = [];
  const home = mkdtempSync(join(tmpdir(), 'berth-cli-test-'));

  /** Runs `berth` with the services' environment; `cluster: false` leaves the kubeconfig out. */
  const berth = (args: string[], options: { cluster?: boolean } = {}): Promise<Outcome> =>
    new Promise((resolve) => {
      const env: Record<string, string> = {
        ...cluster.nats.as('cli').env,
        PATH: process.env['PATH'] ?? '',
        // No ~/.kube/config to fall back on: the kubeconfig is what the test says.
        HOME: home,
        BERTH_NODE_HEALTH_TIMEOUT_MS: '2000',
        ...(options.cluster === false ? {} : { BERTH_KUBECONFIG: cluster.kube.kubeconfig }),
      };
      execFile(process.execPath, [BERTH, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
    });

  /** Runs `berth` until its stdout matches, failing with the last outcome seen. */
  async function eventually(args: string[], expected: RegExp, timeoutMs = 20_000): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    let last: Outcome | undefined;
    while (Date.now() < deadline) {
      last = await berth(args);
      if (expected.test(last.stdout)) return last;
      await sleep(200);
    }
    assert.fail(`berth ${args.join(' ')} never matched ${String(expected)}; last: ${JSON.stringify(last)}`);
  }

  const node = async (name: string, address: string) => {
    await cluster.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
    const now = new Date().toISOString();
    const status = {
      status: {
        addresses: [{ type: 'InternalIP', address }],
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Test',
            message: 'ok',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    };
    await cluster.kube.kubectl([
      'patch',
      'node',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
  };

  before(async () => {
    [cluster, redis, speaker, router] = await Promise.all([
      startTestCluster(),
      startRedis(),
      startGobgp(),
      startGobgp(),
    ]);
    const port = await freePort();
    await router.cli(
      'global',
      'as',
      '65000',
      'router-id',
      '192.0.2.254',
      'listen-port',
      String(port),
      'listen-addresses',
      ROUTER,
    );
    await router.cli('neighbor', 'add', '127.0.0.1', 'as', '64512');
    health = await cluster.bus.bucket(Buckets.nodeHealth);

    procs.push(
      startBerthProcess(WATCHER_MAIN, {
        ...cluster.nats.as('watcher').env,
        BERTH_KUBECONFIG: cluster.watcherKubeconfig,
      }),
      startBerthProcess(IPAM_MAIN, { ...cluster.nats.as('ipam').env, ...redis.env }),
      startBerthProcess(ROUTE_PUBLISHER_MAIN, {
        ...cluster.nats.as('route-publisher').env,
        BERTH_GOBGP_TARGET: speaker.target,
        BERTH_SPEAKER_NAME: 'central-0',
        BERTH_NODE_HEALTH_TIMEOUT_MS: '2000',
      }),
    );
    await Promise.all(procs.map((p) => p.logged('started')));
    const berthObject = (kind: string, name: string, spec: object) =>
      cluster.apply({ apiVersion: 'berth.dev/v1alpha1', kind, metadata: { name }, spec });
    await berthObject('IPPool', 'public', { mode: 'bgp', addresses: ['203.0.113.10/32'] });
    await berthObject('BGPConfig', 'default', {
      asn: 64512,
      routerID: '192.0.2.1',
      listenPort: -1,
      topology: 'central',
    });
    await berthObject('BGPPeer', 'r1', { peerAddress: ROUTER, peerASN: 65000, port, holdTime: '9s' });
    await node('n1', '192.0.2.11');
    await node('n2', '192.0.2.12');
  });
  after(async () => {
    clearInterval(beating);
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all([cluster.stop(), redis.stop(), speaker.stop(), router.stop()]);
    rmSync(home, { recursive: true, force: true });
  });

  it('explain: the second Service of a one-address pool has no address, because the pool is exhausted', async () => {
    await cluster.apply(lbService('a'));
    await eventually(['explain', 'shop/a'], /^shop\/a has 203\.0\.113\.10/);
    await cluster.apply(lbService('b'));
    const { code, stdout } = await eventually(['explain', 'shop/b'], /PoolExhausted/);
    assert.equal(
      stdout,
      'shop/b has no address: ipam refused it with PoolExhausted: no free IPv4 address in pools public.\n',
    );
    assert.equal(code, 1);
  });

  it('explain: no route while no node-agent has reported from the nodes', async () => {
    const { code, stdout } = await eventually(['explain', 'shop/a'], /no node-agent has reported/);
    assert.equal(
      stdout,
      'shop/a has 203.0.113.10 but no route: no node serves it, because no node-agent has reported from n1 and n2.\n',
    );
    assert.equal(code, 1);
  });

  it('explain: once the node-agents report, the next hops and the established peer', async () => {
    // Node-agents as the test plays them: a heartbeat from each node every 300 ms, live and stored.
    const beat = (name: string) => {
      const snapshot = {
        v: 1 as const,
        key: name,
        revision: String(Date.now()),
        at: Date.now(),
        ready: true,
        interfaces: ['eth0'],
      };
      cluster.bus.sendHeartbeat(snapshot);
      return health.put(snapshot);
    };
    beating = setInterval(() => void Promise.all([beat('n1'), beat('n2')]).catch(() => undefined), 300);
    const { code, stdout } = await eventually(['explain', 'shop/a'], /Established/, 60_000);
    assert.equal(
      stdout,
      'shop/a has 203.0.113.10, announced over BGP with next hops 192.0.2.11, 192.0.2.12 to peers r1 (Established).\n',
    );
    assert.equal(code, 0);
  });

  it('status: the pool used 1 of 1, each Service with its next hops or why not, the peer and its session', async () => {
    // route-publisher counts the prefixes a peer was sent every few seconds.
    const { code, stdout, stderr } = await eventually(['status'], /^r1 .* 1$/m);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    assert.match(stdout, /^public\s+bgp\s+IPv4\s+1\s+1\s+0\s*$/m);
    assert.match(stdout, /^shop\/a\s+203\.0\.113\.10\s+public\s+bgp\s+192\.0\.2\.11, 192\.0\.2\.12\s*$/m);
    assert.match(stdout, /^shop\/b\s+-\s+-\s+-\s+-\s+refused: PoolExhausted$/m);
    assert.match(stdout, /^r1\s+127\.0\.0\.2\s+65000\s+central-0\s+Established\s+\S+\s+1$/m);

    const json = JSON.parse((await berth(['status', '--json'])).stdout) as {
      pools: { pool: string; family: string; total: string; inUse: number; free: string }[];
      services: { service: string; nextHops: string[]; fine: boolean }[];
    };
    assert.deepEqual(json.pools, [
      { pool: 'public', mode: 'bgp', family: 'IPv4', total: '1', inUse: 1, free: '0', note: '' },
    ]);
    assert.deepEqual(
      json.services.map((s) => [s.service, s.nextHops, s.fine]),
      [
        ['shop/a', ['192.0.2.11', '192.0.2.12'], true],
        ['shop/b', [], false],
      ],
    );
  });

  it('explain: what only the cluster knows, a Service of another class and one that does not exist', async () => {
    await cluster.apply(lbService('other', 'example.com/lb'));
    const other = await berth(['explain', 'shop/other']);
    assert.equal(
      other.stdout,
      "shop/other is not Berth's: its loadBalancerClass is example.com/lb, not berth.dev/lb.\n",
    );
    assert.equal(other.code, 1);
    assert.equal((await berth(['explain', 'shop/nope'])).stdout, 'shop/nope does not exist in the cluster.\n');
  });

  it('without a kubeconfig: one line on stderr says so, and the bus view follows', async () => {
    const { code, stdout, stderr } = await berth(['status'], { cluster: false });
    assert.equal(code, 0);
    assert.equal(
      stderr,
      'berth: no kubeconfig (give --kubeconfig FILE, or set BERTH_KUBECONFIG or KUBECONFIG): showing the bus view only\n',
    );
    assert.match(stdout, /^public\s+bgp\s+IPv4\s+1\s+1\s+0\s*$/m);
    const unknown = await berth(['explain', 'shop/other'], { cluster: false });
    assert.match(unknown.stdout, /^shop\/other is not on the bus: it does not exist, or it is not a LoadBalancer/);
  });

  it('usage errors exit 2 and say what to write instead', async () => {
    const { code, stdout, stderr } = await berth(['explain', 'web']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /write berth explain default\/web/);
  });
});
