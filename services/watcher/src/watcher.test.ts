import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Buckets, connectBus, type Bus, type BucketSpec } from '@berth/bus';
import { createLogger } from '@berth/runtime';
import {
  startBerthProcess,
  startControlPlane,
  startNats,
  type BerthProcess,
  type RigControlPlane,
  type RigNats,
} from '@berth/rig';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');

/** A live copy of one bucket, kept by watching it. */
async function mirror<T extends { key: string }>(bus: Bus, spec: BucketSpec<T>, signal: AbortSignal) {
  const bucket = await bus.bucket(spec);
  const entries = new Map<string, T>();
  const seenKeys = new Set<string>();
  void (async () => {
    for await (const change of bucket.watch(signal)) {
      if (change.type === 'put') {
        entries.set(change.key, change.value);
        seenKeys.add(change.key);
      } else if (change.type === 'deleted') entries.delete(change.key);
    }
  })();
  return { bucket, entries, seenKeys };
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const service = (name: string, cls: string | undefined, extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: {
    type: 'LoadBalancer',
    ...(cls === undefined ? {} : { loadBalancerClass: cls }),
    selector: { app: name },
    ports: [{ port: 80 }],
    ...extra,
  },
});

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
  let kube: RigControlPlane;
  let nats: RigNats;
  let bus: Bus;
  let watcher: BerthProcess;
  const abort = new AbortController();
  let mirrors: {
    services: Awaited<ReturnType<typeof mirror<(typeof Buckets.services.schema)['static']>>>;
    endpoints: Awaited<ReturnType<typeof mirror<(typeof Buckets.endpoints.schema)['static']>>>;
    nodes: Awaited<ReturnType<typeof mirror<(typeof Buckets.nodes.schema)['static']>>>;
    pools: Awaited<ReturnType<typeof mirror<(typeof Buckets.pools.schema)['static']>>>;
    bgpPeers: Awaited<ReturnType<typeof mirror<(typeof Buckets.bgpPeers.schema)['static']>>>;
    bgpConfig: Awaited<ReturnType<typeof mirror<(typeof Buckets.bgpConfig.schema)['static']>>>;
  };
  const apply = (object: object) => kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object) });

  before(async () => {
    [kube, nats] = await Promise.all([startControlPlane(), startNats()]);
    await kube.kubectl(['apply', '-f', join(repo, 'deploy', 'crds')]);
    await kube.kubectl(['create', 'namespace', 'berth-system']);
    await kube.kubectl(['create', 'namespace', 'shop']);
    await kube.kubectl(['apply', '-f', join(repo, 'deploy', 'rbac', 'watcher.yaml')]);
    await kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/ippools.berth.dev',
      'crd/bgppeers.berth.dev',
      'crd/bgpconfigs.berth.dev',
    ]);

    bus = await connectBus(
      { natsServers: [nats.url], natsUser: nats.user, natsPassword: nats.password },
      { name: 'test', logger: createLogger('test', 'silent') },
    );
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
    await apply(service('web', 'berth.dev/lb'));
    await apply(service('other', 'example.com/other-lb'));
    await apply(service('classless', undefined));

    mirrors = {
      services: await mirror(bus, Buckets.services, abort.signal),
      endpoints: await mirror(bus, Buckets.endpoints, abort.signal),
      nodes: await mirror(bus, Buckets.nodes, abort.signal),
      pools: await mirror(bus, Buckets.pools, abort.signal),
      bgpPeers: await mirror(bus, Buckets.bgpPeers, abort.signal),
      bgpConfig: await mirror(bus, Buckets.bgpConfig, abort.signal),
    };
    const kubeconfig = await kube.serviceAccountKubeconfig('berth-system', 'berth-watcher');
    watcher = startBerthProcess(join(here, 'main.js'), {
      ...nats.env,
      BERTH_KUBECONFIG: kubeconfig,
      BERTH_LOG_LEVEL: 'debug',
    });
  });

  after(async () => {
    abort.abort();
    watcher.child.kill('SIGKILL');
    await bus.close();
    await Promise.all([kube.stop(), nats.stop()]);
  });

  it('lists everything it needs with only its own RBAC, becomes ready, and prunes stale snapshots', async () => {
    const { port } = (await watcher.logged('health server listening')) as { port: number };
    await watcher.logged('every collection listed');
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    await until(
      'shop/web published and the ghost pruned',
      () => mirrors.services.entries.has('shop/web') && !mirrors.services.entries.has('gone/ghost'),
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
    await until('peer with its password', () => mirrors.bgpPeers.entries.get('tor')?.password === 's3cret');
    assert.equal(mirrors.bgpPeers.entries.get('tor')?.myASN, 64512);
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
    await apply(service('api', 'berth.dev/lb'));
    await until('api published', () => mirrors.services.entries.has('shop/api'));
    await kube.kubectl(['delete', 'service', '-n', 'shop', 'api']);
    await until('api tombstoned', () => !mirrors.services.entries.has('shop/api'));
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await watcher.stop(), 0);
  });
});
