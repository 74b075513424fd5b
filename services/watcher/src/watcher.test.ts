import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AllocationSnapshot } from '@berth/contracts';
import { Buckets, type Bus } from '@berth/bus';
import { startBerthProcess, type BerthProcess, type RigControlPlane } from '@berth/rig';
import { lbService, mirror, startTestCluster, until, WATCHER_MAIN, type TestCluster } from './test-cluster.js';

const slice = (name: string, endpoints: { node: string; ready: boolean }[]) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name,
    namespace: 'shop',
    labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'berth-test' },
  },
  addressType: 'IPv4',
  endpoints: endpoints.map((e, i) => ({
    addresses: [`192.0.2.${30 + i}`],
    nodeName: e.node,
    conditions: { ready: e.ready },
  })),
  ports: [{ port: 80, protocol: 'TCP' }],
});

describe('watcher - publishes the cluster on the bus, as its own least-privilege ServiceAccount', () => {
  let cluster: TestCluster;
  let kube: RigControlPlane;
  let bus: Bus;
  let watcher: BerthProcess;
  const abort = new AbortController();
  let mirrors: {
    services: Awaited<ReturnType<typeof mirror<(typeof Buckets.services.schema)['static']>>>;
    endpoints: Awaited<ReturnType<typeof mirror<(typeof Buckets.endpoints.schema)['static']>>>;
    nodes: Awaited<ReturnType<typeof mirror<(typeof Buckets.nodes.schema)['static']>>>;
    namespaces: Awaited<ReturnType<typeof mirror<(typeof Buckets.namespaces.schema)['static']>>>;
    pools: Awaited<ReturnType<typeof mirror<(typeof Buckets.pools.schema)['static']>>>;
    bgpPeers: Awaited<ReturnType<typeof mirror<(typeof Buckets.bgpPeers.schema)['static']>>>;
    bgpConfig: Awaited<ReturnType<typeof mirror<(typeof Buckets.bgpConfig.schema)['static']>>>;
    bgpPeerSecrets: Awaited<ReturnType<typeof mirror<(typeof Buckets.bgpPeerSecrets.schema)['static']>>>;
  };
  const apply = (object: object) => cluster.apply(object);

  before(async () => {
    cluster = await startTestCluster();
    ({ kube, bus } = cluster);
    // Left by an earlier watcher for a Service deleted while none ran: must be tombstoned.
    const services = await bus.bucket(Buckets.services);
    await services.put({
      v: 1,
      key: 'gone/ghost',
      revision: '1',
      uid: 'u',
      namespace: 'gone',
      name: 'ghost',
      labels: {},
      annotations: {},
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      externalTrafficPolicy: 'Cluster',
      ports: [],
      ingress: [],
      deleting: false,
    });
    await apply(lbService('web'));
    await apply(lbService('other', 'example.com/other-lb'));
    await apply(lbService('classless', null));

    mirrors = {
      services: await mirror(bus, Buckets.services, abort.signal),
      endpoints: await mirror(bus, Buckets.endpoints, abort.signal),
      nodes: await mirror(bus, Buckets.nodes, abort.signal),
      namespaces: await mirror(bus, Buckets.namespaces, abort.signal),
      pools: await mirror(bus, Buckets.pools, abort.signal),
      bgpPeers: await mirror(bus, Buckets.bgpPeers, abort.signal),
      bgpConfig: await mirror(bus, Buckets.bgpConfig, abort.signal),
      bgpPeerSecrets: await mirror(bus, Buckets.bgpPeerSecrets, abort.signal),
    };
    watcher = startBerthProcess(WATCHER_MAIN, {
      ...cluster.nats.as('watcher').env,
      BERTH_KUBECONFIG: cluster.watcherKubeconfig,
      BERTH_LOG_LEVEL: 'debug',
    });
  });

  after(async () => {
    if (process.env['BERTH_TEST_DEBUG'])
      for (const l of watcher.lines.filter((x) => x.level !== 'debug')) console.error(JSON.stringify(l));
    abort.abort();
    watcher.child.kill('SIGKILL');
    await cluster.stop();
  });

  it('lists everything it needs with only its own RBAC, becomes ready, and prunes stale snapshots', async () => {
    const { port } = (await watcher.logged('health server listening')) as { port: number };
    await watcher.logged('every collection listed');
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    // Services and endpoints go out through separate outboxes: either may land first.
    await until(
      'shop/web and its endpoints published, and the ghost pruned',
      () =>
        mirrors.services.entries.has('shop/web') &&
        mirrors.endpoints.entries.has('shop/web') &&
        !mirrors.services.entries.has('gone/ghost'),
    );
    assert.deepEqual(mirrors.endpoints.entries.get('shop/web')?.readyByNode, {});
    assert.equal(
      watcher.lines.filter((l) => l.msg === 'list/watch failed; retrying').length,
      0,
      'no request was refused',
    );
  });

  it('ignores Services of another class, and those with no class when Berth is not the default', () => {
    assert.deepEqual(
      [...mirrors.services.seenKeys].filter((k) => k.startsWith('shop/')),
      ['shop/web'],
    );
  });

  it('folds EndpointSlices into ready endpoints per node, following changes', async () => {
    await apply(
      slice('web-a', [
        { node: 'n1', ready: true },
        { node: 'n1', ready: true },
        { node: 'n2', ready: false },
      ]),
    );
    await until(
      'n1 has two ready endpoints',
      () => JSON.stringify(mirrors.endpoints.entries.get('shop/web')?.readyByNode) === '{"n1":2}',
    );
    await apply(slice('web-b', [{ node: 'n2', ready: true }]));
    await until(
      'n2 ready through a second slice',
      () => JSON.stringify(mirrors.endpoints.entries.get('shop/web')?.readyByNode) === '{"n1":2,"n2":1}',
    );
    await kube.kubectl(['delete', 'endpointslice', '-n', 'shop', 'web-a']);
    await until(
      'n1 gone with its slice',
      () => JSON.stringify(mirrors.endpoints.entries.get('shop/web')?.readyByNode) === '{"n2":1}',
    );
  });

  it('publishes Namespaces with their labels, for pools that select namespaces', async () => {
    await kube.kubectl(['label', 'namespace', 'shop', 'team=payments']);
    await until('shop labelled', () => mirrors.namespaces.entries.get('shop')?.labels['team'] === 'payments');
    assert.ok(mirrors.namespaces.entries.has('berth-system'));
  });

  it('publishes Nodes with readiness and the exclusion label', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } },
    });
    await kube.kubectl([
      'patch',
      'node',
      'n1',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          addresses: [{ type: 'InternalIP', address: '192.0.2.11' }],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Test',
              message: 'ok',
              lastHeartbeatTime: new Date().toISOString(),
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        },
      }),
    ]);
    await until('n1 ready', () => mirrors.nodes.entries.get('n1')?.ready === true);
    assert.deepEqual(mirrors.nodes.entries.get('n1')?.addresses, [{ type: 'InternalIP', address: '192.0.2.11' }]);
    assert.equal(mirrors.nodes.entries.get('n1')?.excludedFromLoadBalancers, true);
    await kube.kubectl(['delete', 'node', 'n1']);
    await until('n1 tombstoned', () => !mirrors.nodes.entries.has('n1'));
  });

  it('publishes IPPools, the BGPConfig, and a BGPPeer only once its password Secret exists', async () => {
    await apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'public' },
      spec: { mode: 'bgp', addresses: ['203.0.113.0/24', '2001:db8:1::/120'] },
    });
    await until('pool', () => mirrors.pools.entries.get('public')?.addresses.length === 2);
    await apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'BGPConfig',
      metadata: { name: 'default' },
      spec: { asn: 64512 },
    });
    await apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'BGPPeer',
      metadata: { name: 'tor' },
      spec: { peerAddress: '192.0.2.254', peerASN: 65000, passwordSecretRef: { name: 'tor-md5' } },
    });
    await until('config', () => mirrors.bgpConfig.entries.get('default')?.asn === 64512);
    await watcher.logged('BGPPeer not published');
    assert.equal(mirrors.bgpPeers.entries.has('tor'), false);
    await kube.kubectl([
      'create',
      'secret',
      'generic',
      'tor-md5',
      '-n',
      'berth-system',
      '--from-literal=password=s3cret',
    ]);
    await until('peer with its password', () => mirrors.bgpPeerSecrets.entries.get('tor')?.password === 's3cret');
    assert.equal(mirrors.bgpPeers.entries.get('tor')?.tcpMd5, true);
    assert.equal(mirrors.bgpPeers.entries.get('tor')?.myASN, 64512);
    // The password is in its own bucket alone: not in the peer that others read, nor in a log line.
    assert.ok(!JSON.stringify([...mirrors.bgpPeers.entries.values()]).includes('s3cret'));
    assert.ok(!JSON.stringify(watcher.lines).includes('s3cret'), 'no log line of the watcher holds the password');
  });

  it('shows each BGPPeer’s sessions as the speakers report them on the bus', async () => {
    const sessions = await bus.bucket(Buckets.peerSessions);
    const since = '2026-11-22T03:00:00Z';
    for (const [speaker, state] of [
      ['node-a', 'Established'],
      ['node-b', 'Active'],
    ] as const) {
      await sessions.put({
        v: 1,
        key: `tor/${speaker}`,
        revision: '1',
        peer: 'tor',
        speaker,
        state,
        since,
        prefixesAnnounced: speaker === 'node-a' ? 3 : 0,
      });
    }
    const status = async () =>
      (
        JSON.parse(await kube.kubectl(['get', 'bgppeer', 'tor', '-o', 'json'])) as {
          status?: { sessions?: { speaker: string; state: string }[] };
        }
      ).status;
    const deadline = Date.now() + 10_000;
    while ((await status())?.sessions?.length !== 2 && Date.now() < deadline) await sleep(50);
    assert.deepEqual((await status())?.sessions, [
      { speaker: 'node-a', state: 'Established', since, prefixesAnnounced: 3 },
      { speaker: 'node-b', state: 'Active', since, prefixesAnnounced: 0 },
    ]);
    await sessions.delete('tor/node-b');
    while ((await status())?.sessions?.length !== 1 && Date.now() < deadline) await sleep(50);
    assert.deepEqual(
      (await status())?.sessions?.map((s) => s.speaker),
      ['node-a'],
    );
    assert.match(
      await kube.kubectl(['get', 'bgppeers', '-o', 'wide']),
      /^tor\s+192\.0\.2\.254\s+65000\s+false\s+Established\s/m,
    );
  });

  const getService = async (name: string) =>
    JSON.parse(await kube.kubectl(['get', 'service', '-n', 'shop', name, '-o', 'json'])) as {
      metadata: { uid: string; finalizers?: string[]; deletionTimestamp?: string };
      status: {
        loadBalancer?: { ingress?: { ip: string; ipMode: string }[] };
        conditions?: { type: string; status: string; reason: string; message: string }[];
      };
    };
  const eventsFor = async (name: string) =>
    (
      JSON.parse(await kube.kubectl(['get', 'events.events.k8s.io', '-n', 'shop', '-o', 'json'])) as {
        items: {
          regarding: { name: string };
          type: string;
          reason: string;
          note: string;
          reportingController: string;
        }[];
      }
    ).items.filter((e) => e.regarding.name === name);
  const allocate = async (key: string, uid: string, result: AllocationSnapshot['result']) => {
    const allocations = await bus.bucket(Buckets.allocations);
    await allocations.put({ v: 1, key, revision: String(Date.now()), serviceUid: uid, result });
  };
  const pollService = async (
    name: string,
    what: string,
    test: (s: Awaited<ReturnType<typeof getService>>) => boolean,
  ) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const current = await getService(name);
      if (test(current)) return current;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(current)}`);
      await sleep(50);
    }
  };

  it('holds its finalizer on Berth Services and writes an allocation into status with ipMode VIP', async () => {
    await apply(lbService('pay'));
    const { metadata } = await pollService(
      'pay',
      'the cleanup finalizer',
      (s) => s.metadata.finalizers?.includes('service.kubernetes.io/load-balancer-cleanup') === true,
    );
    await allocate('shop/pay', metadata.uid, {
      type: 'assigned',
      pool: 'public',
      mode: 'bgp',
      addresses: ['203.0.113.10', '2001:db8:1::10'],
    });
    const written = await pollService(
      'pay',
      'the address in status',
      (s) => (s.status.loadBalancer?.ingress?.length ?? 0) > 0,
    );
    assert.deepEqual(written.status.loadBalancer?.ingress, [
      { ip: '203.0.113.10', ipMode: 'VIP' },
      { ip: '2001:db8:1::10', ipMode: 'VIP' },
    ]);
    const condition = written.status.conditions?.find((c) => c.type === 'berth.dev/AddressAssigned');
    assert.deepEqual({ status: condition?.status, reason: condition?.reason }, { status: 'True', reason: 'Assigned' });
    const row = (await kube.kubectl(['get', 'service', '-n', 'shop', 'pay', '--no-headers'])).split(/\s+/);
    assert.deepEqual(row[3]?.split(',').sort(), ['2001:db8:1::10', '203.0.113.10'], 'EXTERNAL-IP');
    const events = await eventsFor('pay');
    assert.deepEqual(
      events.map((e) => [e.type, e.reason, e.reportingController]),
      [['Normal', 'AddressAssigned', 'berth.dev/watcher']],
    );
  });

  it('shows each IPPool’s usage per family and whether it overlaps another pool', async () => {
    interface PoolStatus {
      ipv4?: object;
      ipv6?: object;
      conditions?: { type: string; status: string; message: string }[];
    }
    const pollPool = async (name: string, what: string, test: (s: PoolStatus) => boolean): Promise<PoolStatus> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { status = {} } = JSON.parse(await kube.kubectl(['get', 'ippool', name, '-o', 'json'])) as {
          status?: PoolStatus;
        };
        if (test(status)) return status;
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(status)}`);
        await sleep(50);
      }
    };
    const used = await pollPool('public', 'one address in use', (s) => JSON.stringify(s.ipv4).includes('"inUse":1'));
    assert.deepEqual(used.ipv4, { total: '256', inUse: 1, free: '255' });
    assert.deepEqual(used.ipv6, { total: '256', inUse: 1, free: '255' });
    assert.equal(used.conditions?.[0]?.status, 'True');

    // Overlapping pools: the older (public) keeps its addresses; the newer is refused, on the bus too.
    await sleep(1100); // a later creationTimestamp second than public's
    await apply({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'IPPool',
      metadata: { name: 'clash' },
      spec: { mode: 'layer2', addresses: ['203.0.113.128/25'] },
    });
    const invalid = await pollPool('clash', 'Valid=False', (s) => s.conditions?.[0]?.status === 'False');
    assert.equal(
      invalid.conditions?.[0]?.message,
      '203.0.113.128/25 overlaps 203.0.113.0/24 of pool public, which is older and keeps those addresses: this pool hands out none until the overlap is removed',
    );
    await until('clash refused on the bus', () => mirrors.pools.entries.get('clash')?.refusal?.reason === 'Overlaps');
    assert.equal(mirrors.pools.entries.get('public')?.refusal, undefined);
    assert.equal((await pollPool('public', 'still valid', () => true)).conditions?.[0]?.status, 'True');
    assert.match(
      await kube.kubectl(['get', 'ippools']),
      /^clash\s+layer2\s+\["203.0.113.128\/25"\]\s+true\s+0\s+128\s+False\s/m,
    );
    await kube.kubectl(['delete', 'ippool', 'clash']);
    await until('clash gone from the bus', () => !mirrors.pools.entries.has('clash'));
    assert.equal((await pollPool('public', 'still valid', () => true)).conditions?.[0]?.status, 'True');
  });

  it('explains a refused Service with a False condition and one Warning Event naming the reason', async () => {
    await apply(lbService('full'));
    const { metadata } = await pollService('full', 'finalizer', (s) => (s.metadata.finalizers?.length ?? 0) > 0);
    const message = 'pool public has no free IPv4 address (256 of 256 leased)';
    await allocate('shop/full', metadata.uid, { type: 'refused', reason: 'PoolExhausted', message });
    const refused = await pollService(
      'full',
      'the refusal condition',
      (s) => s.status.conditions?.some((c) => c.status === 'False') === true,
    );
    assert.deepEqual(
      refused.status.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [['berth.dev/AddressAssigned', 'False', 'PoolExhausted', message]],
    );
    assert.equal(refused.status.loadBalancer?.ingress, undefined);
    // The same decision again (a resync) must not repeat the Event.
    await allocate('shop/full', metadata.uid, { type: 'refused', reason: 'PoolExhausted', message });
    await sleep(300);
    assert.deepEqual(
      (await eventsFor('full')).map((e) => [e.type, e.reason, e.note]),
      [['Warning', 'PoolExhausted', message]],
    );
  });

  it('ignores an allocation that belongs to an older Service of the same name', async () => {
    await apply(lbService('reborn'));
    await pollService('reborn', 'finalizer', (s) => (s.metadata.finalizers?.length ?? 0) > 0);
    await allocate('shop/reborn', 'uid-of-a-deleted-namesake', {
      type: 'assigned',
      pool: 'public',
      mode: 'bgp',
      addresses: ['203.0.113.99'],
    });
    await sleep(500);
    assert.equal((await getService('reborn')).status.loadBalancer?.ingress, undefined);
  });

  it('keeps a deleted Service until ipam releases its address, then lets it go', async () => {
    await kube.kubectl(['delete', 'service', '-n', 'shop', 'pay', '--wait=false']);
    await until('the deletion published', () => mirrors.services.entries.get('shop/pay')?.deleting === true);
    await sleep(500);
    assert.ok((await getService('pay')).metadata.deletionTimestamp, 'still there, held by the finalizer');
    await (await bus.bucket(Buckets.allocations)).delete('shop/pay');
    await until('the Service gone and tombstoned', () => !mirrors.services.entries.has('shop/pay'));
    await assert.rejects(getService('pay'), /NotFound/);
  });

  it('tombstones a Service that stops being a LoadBalancer, and one that is deleted', async () => {
    await kube.kubectl([
      'patch',
      'service',
      '-n',
      'shop',
      'web',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { type: 'ClusterIP', loadBalancerClass: null } }),
    ]);
    await until(
      'web tombstoned with its endpoints',
      () => !mirrors.services.entries.has('shop/web') && !mirrors.endpoints.entries.has('shop/web'),
    );
    await apply(lbService('api'));
    await until('api published', () => mirrors.services.entries.has('shop/api'));
    await kube.kubectl(['delete', 'service', '-n', 'shop', 'api']);
    // api never got an allocation, so the finalizer does not hold it.
    await until('api tombstoned', () => !mirrors.services.entries.has('shop/api'));
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await watcher.stop(), 0);
  });
});
