import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BGP_POOL,
  BGP_POOL6,
  eventually,
  httpUrl,
  installBerth,
  layer2Owner,
  requireTool,
  routerHopsBecome,
  serviceAddresses,
  startEchoService,
  startKubeCluster,
  stopLayer2Owner,
  streamsDuring,
  uninstallBerth,
  upgradeBerth,
  type EchoServiceOptions,
  type InstallOptions,
  type RequestStream,
  type RigBerthInstall,
  type RigKubeCluster,
} from '@berth/rig';

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec: {
      nodeName?: string;
      containers: { name: string; image: string; securityContext?: Record<string, unknown> }[];
    };
    status: { conditions?: { type: string; status: string }[]; podIP?: string };
  }[];
}

/**
 * No test workload runs on this node. The per-node install runs its one NATS server and one Redis
 * here, so a test that stops another node keeps the bus; the central install runs the chart's
 * default, three of each spread over the nodes, and a node stopped takes one of each with it.
 */
const QUIET_NODE = 'node3';
/** The per-node install: one NATS server and one Redis, as on a small cluster. */
const SMALL_BUS = ['nats.replicas=1', 'redis.sentinel.enabled=false'];
/** The test workloads: a BGP Service and a layer-2 one, their pods never on the quiet node. */
const WEB: EchoServiceOptions = {
  name: 'web',
  replicas: 2,
  avoidNodes: [QUIET_NODE],
  ipFamilyPolicy: 'RequireDualStack',
};
const LAN: EchoServiceOptions = {
  name: 'lan',
  replicas: 2,
  avoidNodes: [QUIET_NODE],
  annotations: { 'berth.dev/pool': 'lan' },
  externalTrafficPolicy: 'Local',
  ipFamilyPolicy: 'RequireDualStack',
};
/** A dual-stack Service's addresses: [IPv4, IPv6]. */
const byFamily = (addresses: readonly string[]) => {
  const ipv4 = addresses.find((a) => !a.includes(':'));
  const ipv6 = addresses.find((a) => a.includes(':'));
  assert.ok(ipv4 !== undefined && ipv6 !== undefined, `one address of each family: ${addresses.join(', ')}`);
  return [ipv4, ipv6] as const;
};

/** What the tests of both topologies ask of one cluster with Berth installed. */
function clusterHelpers(get: () => RigKubeCluster) {
  const kubectl = (...args: string[]) => get().kube.kubectl(args);
  const pods = async (namespace: string, selector?: string) =>
    JSON.parse(
      await kubectl('get', 'pods', '-n', namespace, ...(selector ? ['-l', selector] : []), '-o', 'json'),
    ) as PodList;
  const nodeAddress = (node: string | undefined) => get().nodes.find((n) => n.name === node)?.host.ipv4 ?? '?';
  /** The addresses of the nodes where a pod of `app` is Ready. */
  const readyOn = async (app: string) =>
    new Set(
      (await pods('default', `app=${app}`)).items
        .filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => nodeAddress(p.spec.nodeName)),
    );
  /**
   * `count` requests in a row from the client to `vip`, every one answered: the pod names. A
   * failure starts the count again, for up to 20 s, since the router may reach a node a moment
   * before that node's kube-proxy (which syncs its rules at most once a second) has programmed
   * the VIP: it then refuses the connection as a Service without endpoints.
   */
  const answers = async (vip: string, count: number) => {
    let names: string[] = [];
    const deadline = Date.now() + 20_000;
    while (names.length < count) {
      try {
        names.push((await get().curl(httpUrl(vip))).trim());
      } catch (error) {
        if (Date.now() > deadline) throw error;
        names = [];
        await sleep(200);
      }
    }
    return names;
  };
  /** A dual-stack Service's addresses, [IPv4, IPv6], once it has both. */
  const addresses = async (name: string) => byFamily(await serviceAddresses(get(), name, { count: 2 }));
  const podNames = async (app: string) =>
    new Set((await pods('default', `app=${app}`)).items.map((p) => p.metadata.name));
  return { kubectl, pods, readyOn, answers, addresses, podNames };
}

/** Before the tests of a describe block, a cluster with Berth installed in `topology`; after them, stopped. */
function clusterWithBerth(
  install: InstallOptions,
  started: (cluster: RigKubeCluster, berth: RigBerthInstall) => void,
): void {
  let cluster: RigKubeCluster | undefined;
  // Building images from a cold layer cache takes minutes; from a warm one, seconds.
  before(
    async () => {
      cluster = await startKubeCluster();
      started(cluster, await installBerth(cluster, install));
    },
    { timeout: 1_200_000 },
  );
  after(async () => {
    await cluster?.stop();
  });
}

/** Says what a stream saw, in the test's output. */
function report(t: TestContext, what: string, stream: RequestStream): void {
  t.diagnostic(`${what}: ${stream.sent} requests, ${stream.failed} failed, longest gap ${stream.longestGapMs} ms`);
}

describe('Berth on a cluster of real kubelets, installed with its Helm chart (central topology)', () => {
  let cluster: RigKubeCluster;
  let berth: RigBerthInstall;
  const { kubectl, pods, readyOn, answers, addresses, podNames } = clusterHelpers(() => cluster);
  clusterWithBerth({ topology: 'central' }, (c, b) => {
    cluster = c;
    berth = b;
  });

  it('every Berth pod is Ready under the chart’s security contexts, with three NATS servers and three Redis under Sentinel', async () => {
    const list = await pods(berth.namespace);
    const byComponent = new Map<string, number>();
    for (const pod of list.items) {
      const component = pod.metadata.labels?.['app.kubernetes.io/component'] ?? '?';
      byComponent.set(component, (byComponent.get(component) ?? 0) + 1);
      assert.ok(
        pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        `${pod.metadata.name} is Ready`,
      );
      for (const container of pod.spec.containers) {
        assert.equal(
          container.securityContext?.['runAsNonRoot'],
          true,
          `${pod.metadata.name}/${container.name} runs as non-root`,
        );
        assert.equal(
          container.securityContext['readOnlyRootFilesystem'],
          true,
          `${pod.metadata.name}/${container.name}: read-only root`,
        );
      }
    }
    assert.deepEqual(Object.fromEntries([...byComponent].sort()), {
      'bus-auth': 2,
      ipam: 2,
      nats: 3,
      'node-agent': cluster.nodes.length,
      redis: 3,
      'route-publisher': 2,
      watcher: 2,
    });
    const pools = await kubectl('get', 'ippools');
    assert.match(pools, /^default\s+bgp\s+\["203\.0\.113\.0\/24","2001:db8:cafe::\/120"\]/m);
    assert.match(pools, /^lan\s+layer2\s/m);
    // Each node-agent got in with its pod's token, as its own node's agent: bus-auth said so.
    const vouched = new Set<string>();
    const busAuth = list.items.filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'bus-auth');
    for (const { metadata } of busAuth)
      for (const line of (await kubectl('logs', '-n', berth.namespace, metadata.name, '-c', 'bus-auth')).split('\n'))
        if (line.includes('vouched for a client of NATS')) vouched.add((JSON.parse(line) as { node: string }).node);
    assert.deepEqual([...vouched].sort(), cluster.nodes.map((n) => n.name).sort());
  });

  it('a dual-stack Service is answered through the router by its pods over IPv4 and IPv6, every node a next hop (ETP Cluster)', async () => {
    await startEchoService(cluster, WEB);
    const [ipv4, ipv6] = await addresses('web');
    assert.ok(ipv4.startsWith('203.0.113.'), `${ipv4} is from ${BGP_POOL}`);
    assert.ok(ipv6.startsWith('2001:db8:cafe::'), `${ipv6} is from ${BGP_POOL6}`);
    await routerHopsBecome(
      cluster,
      ipv4,
      cluster.nodes.map((n) => n.host.ipv4),
    );
    await routerHopsBecome(
      cluster,
      ipv6,
      cluster.nodes.map((n) => n.host.ipv6),
    );
    const web = await podNames('web');
    for (const vip of [ipv4, ipv6]) {
      const names = await answers(vip, 30);
      for (const name of names) assert.ok(web.has(name), `${name} (through ${vip}) is a pod of the Deployment`);
      assert.ok(
        new Set(names).size >= 2,
        `requests to ${vip} reached more than one pod: ${[...new Set(names)].join(', ')}`,
      );
    }
    const condition = await kubectl(
      'get',
      'service',
      'web',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="berth.dev/AddressAssigned")].status}',
    );
    assert.equal(condition, 'True');
    const finalizers = await kubectl('get', 'service', 'web', '-o', 'jsonpath={.metadata.finalizers}');
    assert.match(finalizers, /service\.kubernetes\.io\/load-balancer-cleanup/);
    const events = JSON.parse(
      await kubectl('get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=web', '-o', 'json'),
    ) as { items: { reason?: string; type?: string; message?: string }[] };
    const assigned = events.items.find((e) => e.reason === 'AddressAssigned');
    assert.ok(assigned?.type === 'Normal', `a Normal AddressAssigned Event: ${JSON.stringify(events.items)}`);
    assert.ok(assigned.message?.includes(ipv4) === true && assigned.message.includes(ipv6), String(assigned.message));
  });

  it('externalTrafficPolicy Local: only nodes with a ready pod are next hops, and scaling out adds one', async () => {
    await kubectl('scale', 'deployment/web', '--replicas=1');
    await kubectl(
      'patch',
      'service',
      'web',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { externalTrafficPolicy: 'Local' } }),
    );
    const [vip] = await addresses('web');
    const one = await eventually('one ready pod', async () => {
      const nodes = await readyOn('web');
      return (await pods('default', 'app=web')).items.length === 1 && nodes.size === 1 ? nodes : undefined;
    });
    await routerHopsBecome(cluster, vip, [...one]);
    const single = (await pods('default', 'app=web')).items[0]?.metadata.name;
    assert.deepEqual(new Set(await answers(vip, 10)), new Set([single]));

    await kubectl('scale', 'deployment/web', '--replicas=2');
    const two = await eventually('two pods ready on two nodes', async () => {
      const nodes = await readyOn('web');
      return nodes.size === 2 ? nodes : undefined;
    });
    await routerHopsBecome(cluster, vip, [...two]);
    assert.equal((await answers(vip, 10)).length, 10);
  });

  it('helm upgrade to a new image tag rolls every component while a BGP and a layer-2 VIP keep answering', async (t) => {
    berth = await upgradeUnderStreams(t, cluster, berth);
  });

  it('the Redis primary’s pod is deleted: Sentinel promotes a replica, the pod comes back as its replica, leasing goes on', async (t) => {
    const redisCli = (pod: string, container: 'redis' | 'sentinel', ...args: string[]) =>
      kubectl(
        'exec',
        '-n',
        berth.namespace,
        pod,
        '-c',
        container,
        '--',
        'sh',
        '-c',
        // The password from the container's environment, never on a command line of the test's.
        `REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning -p ${container === 'redis' ? 6379 : 26379} ${args.join(' ')}`,
      );
    const primaryPod = async (asking: string) =>
      (await redisCli(asking, 'sentinel', 'SENTINEL', 'get-master-addr-by-name', 'berth'))
        .split('\n')[0]
        ?.split('.')[0] ?? '';
    const before = await primaryPod('berth-redis-0');
    assert.match(before, /^berth-redis-\d$/, `the sentinels name a pod: ${before}`);
    const asking = ['berth-redis-0', 'berth-redis-1', 'berth-redis-2'].find((p) => p !== before) ?? '';
    const held = new Map<string, string[]>();
    for (const name of ['web', 'lan']) held.set(name, await serviceAddresses(cluster, name, { count: 2 }));

    const deletedAt = Date.now();
    await kubectl('delete', 'pod', '-n', berth.namespace, before, '--wait=false');
    const after = await eventually(
      'the sentinels name another primary',
      async () => {
        const named = await primaryPod(asking);
        return named !== before && named !== '' ? named : undefined;
      },
      60_000,
    );
    t.diagnostic(`${before} deleted; ${after} named primary after ${Date.now() - deletedAt} ms`);
    const fresh = await startEchoService(cluster, { name: 'after-failover', replicas: 1, avoidNodes: [QUIET_NODE] });
    t.diagnostic(`a new Service's address ${Date.now() - deletedAt} ms after the delete`);
    await kubectl('wait', '--for=condition=Ready', `pod/${before}`, '-n', berth.namespace, '--timeout=120s');
    assert.match(
      await redisCli(before, 'redis', 'INFO', 'replication'),
      /role:slave/,
      `${before} is back as a replica`,
    );
    for (const [name, addresses] of held)
      assert.deepEqual(await serviceAddresses(cluster, name, { count: 2 }), addresses, `${name} kept its addresses`);
    assert.ok(![...held.values()].flat().includes(fresh), `${fresh} is nobody else's`);
    await kubectl('delete', 'service,deployment', 'after-failover');
  });

  it('a node stops: its layer-2 VIP moves to another node, its BGP next hop leaves, requests resume', async (t) => {
    const [lanVip] = await addresses('lan');
    const [bgpVip] = await addresses('web');
    const lan = await podNames('lan');
    const owner = await layer2Owner(cluster, lanVip);
    const survivor = cluster.nodes.find((n) => n.name !== owner.name && n.name !== QUIET_NODE);
    assert.ok(survivor !== undefined && owner.name !== QUIET_NODE, `owner ${owner.name} runs the lan pods`);
    const busOnOwner = (await pods(berth.namespace)).items
      .filter((p) => p.spec.nodeName === owner.name && /-(nats|redis)-\d$/.test(p.metadata.name))
      .map((p) => p.metadata.name);
    // With its node the cluster loses its DNS, when CoreDNS (one replica) ran there.
    const dnsOnOwner = (await pods('kube-system', 'k8s-app=kube-dns')).items.some(
      (p) => p.spec.nodeName === owner.name,
    );

    const { layer2, bgp } = await stopLayer2Owner(cluster, { layer2Vip: lanVip, bgpVip });
    report(t, `layer 2, ${owner.name} stopped`, layer2);
    report(t, `BGP, ${owner.name} stopped`, bgp);
    // When BGP requests failed, what the speakers and bus-auth said meanwhile.
    if (bgp.failed >= bgp.sent / 4)
      for (const pod of (await pods(berth.namespace)).items.filter((p) =>
        /route-publisher|bus-auth/.test(p.metadata.name),
      ))
        for (const line of (
          await kubectl('logs', '-n', berth.namespace, pod.metadata.name, '--all-containers', '--tail=40').catch(
            () => '',
          )
        ).split('\n'))
          if (line !== '') t.diagnostic(`[${pod.metadata.name}] ${line.slice(0, 300)}`);
    await routerHopsBecome(cluster, bgpVip, [survivor.host.ipv4]);
    assert.equal((await layer2Owner(cluster, lanVip)).name, survivor.name, 'the survivor answers ARP for the VIP');
    for (const [what, stream] of [
      ['layer 2', layer2],
      ['BGP', bgp],
    ] as const) {
      assert.ok(
        stream.failed < stream.sent / 4,
        `${what}: most requests were answered (${stream.failed}/${stream.sent} failed)`,
      );
      assert.ok(stream.longestGapMs < 10_000, `${what}: requests resumed (longest gap ${stream.longestGapMs} ms)`);
    }
    const answer = (await cluster.curl(httpUrl(lanVip))).trim();
    assert.ok(lan.has(answer), `${answer} (on ${survivor.name}) answers the layer-2 VIP`);

    // The bus and the store lost a server each with the node (the Redis primary, when it was
    // there): a Service created now still gets its address and its route.
    t.diagnostic(`bus servers on ${owner.name}: ${busOnOwner.join(', ') || 'none'}; cluster DNS too: ${dnsOnOwner}`);
    assert.equal(busOnOwner.length, 2, `one NATS server and one Redis went with ${owner.name}`);
    const late = await startEchoService(cluster, { name: 'late', replicas: 1, avoidNodes: [QUIET_NODE, owner.name] });
    await routerHopsBecome(
      cluster,
      late,
      cluster.nodes.filter((n) => n.name !== owner.name).map((n) => n.host.ipv4),
    );
    assert.equal((await answers(late, 5)).length, 5);
  });
});

describe('Berth on a cluster of real kubelets, installed with its Helm chart (per-node topology)', () => {
  let cluster: RigKubeCluster;
  let berth: RigBerthInstall;
  const { kubectl, pods, readyOn, answers, addresses, podNames } = clusterHelpers(() => cluster);
  clusterWithBerth({ topology: 'per-node', busNode: QUIET_NODE, set: SMALL_BUS }, (c, b) => {
    cluster = c;
    berth = b;
  });

  it('each node’s own speaker announces itself: ETP Local follows the ready pods, ETP Cluster takes every node', async () => {
    const speakers = await pods(berth.namespace, 'app.kubernetes.io/component=route-publisher');
    assert.equal(speakers.items.length, cluster.nodes.length, 'a speaker on every node');
    await startEchoService(cluster, { ...WEB, externalTrafficPolicy: 'Local' });
    const [vip] = await addresses('web');
    const withPods = await eventually('two pods ready on two nodes', async () => {
      const nodes = await readyOn('web');
      return nodes.size === 2 ? nodes : undefined;
    });
    await routerHopsBecome(cluster, vip, [...withPods]);
    const web = await podNames('web');
    for (const name of await answers(vip, 10)) assert.ok(web.has(name), `${name} is a pod of the Deployment`);

    await kubectl('patch', 'service', 'web', '--type=merge', '-p', '{"spec":{"externalTrafficPolicy":"Cluster"}}');
    await routerHopsBecome(
      cluster,
      vip,
      cluster.nodes.map((n) => n.host.ipv4),
    );
    assert.equal((await answers(vip, 10)).length, 10);
  });

  it('helm upgrade to a new image tag rolls every node’s speaker and agent while a BGP and a layer-2 VIP keep answering', async (t) => {
    berth = await upgradeUnderStreams(t, cluster, berth);
  });

  it('helm uninstall withdraws every route and ARP answer, then releases the Services; nothing of Berth is left', async () => {
    const [lanVip] = await addresses('lan');
    const [bgpVip] = await addresses('web');
    const arping = () =>
      cluster.lab.exec(cluster.client.netns, requireTool('arping'), '-c', '2', '-w', '3', '-I', 'eth0', lanVip).then(
        () => true,
        () => false,
      );
    assert.ok(
      await eventually('a node answers ARP for the layer-2 VIP', async () => ((await arping()) ? true : undefined)),
    );
    assert.ok((await cluster.lab.routerNextHops(bgpVip)).length > 0, 'the router has a route to the BGP VIP');

    await uninstallBerth(cluster, berth);

    await eventually(
      'the route to the BGP VIP is withdrawn',
      async () => ((await cluster.lab.routerNextHops(bgpVip)).length === 0 ? true : undefined),
      10_000,
    );
    assert.equal(await arping(), false, 'no node answers ARP for the layer-2 VIP');
    for (const name of ['web', 'lan']) {
      const service = JSON.parse(await kubectl('get', 'service', name, '-o', 'json')) as {
        metadata: { finalizers?: string[] };
        status: { loadBalancer?: { ingress?: unknown[] }; conditions?: { type: string }[] };
      };
      assert.deepEqual(service.status.loadBalancer?.ingress ?? [], [], `${name} has no address`);
      assert.deepEqual(service.status.conditions ?? [], [], `${name} has no Berth condition`);
      assert.deepEqual(service.metadata.finalizers ?? [], [], `${name} holds no finalizer`);
    }
    await kubectl('delete', 'service', 'web', 'lan', '--timeout=30s');

    // Terminating pods take a moment to go: poll, then say what is left, if anything.
    let left: string[] = [];
    await eventually('every Berth object is gone', async () => {
      const namespaced = await kubectl(
        'get',
        'all,serviceaccounts,roles,rolebindings,configmaps,secrets,leases,poddisruptionbudgets,jobs',
        '-n',
        berth.namespace,
        '-o',
        'name',
      );
      left = namespaced
        .split('\n')
        .filter((o) => !['', 'serviceaccount/default', 'configmap/kube-root-ca.crt'].includes(o));
      return left.length === 0 ? true : undefined;
    }).catch(() => undefined);
    assert.deepEqual(left, [], `objects left in ${berth.namespace}`);
    const clusterWide = await kubectl(
      'get',
      'clusterroles,clusterrolebindings',
      '-l',
      'app.kubernetes.io/part-of=berth',
      '-o',
      'name',
    );
    assert.equal(clusterWide, '', 'no ClusterRole or binding of Berth');
  });
});

/**
 * The layer-2 Service (created here) and the BGP one answer, then `helm upgrade` to a new image
 * tag while the client streams requests to both: every Berth pod is replaced by one of the new
 * tag, the bus is left alone, the Services keep their addresses, and (nearly) no request fails.
 */
async function upgradeUnderStreams(
  t: TestContext,
  cluster: RigKubeCluster,
  installed: RigBerthInstall,
): Promise<RigBerthInstall> {
  const { pods, addresses, podNames } = clusterHelpers(() => cluster);
  await startEchoService(cluster, LAN);
  const [lanVip, lanVip6] = await addresses('lan');
  assert.match(lanVip, /^192\.0\.2\.2[01]\d$/, 'the layer-2 VIP is from the lan pool');
  assert.match(lanVip6, /^2001:db8::2[01][0-9a-f]?$/, 'the layer-2 IPv6 VIP is from the lan pool');
  const [bgpVip] = await addresses('web');
  const lan = await podNames('lan');
  for (const vip of [lanVip, lanVip6]) {
    const answer = await eventually(`the layer-2 VIP ${vip} answers`, async () =>
      (await cluster.curl(httpUrl(vip))).trim(),
    );
    assert.ok(lan.has(answer), `${answer} (through ${vip}) is a pod of the lan Deployment`);
  }
  const isBus = (p: PodList['items'][number]) =>
    ['nats', 'redis'].includes(p.metadata.labels?.['app.kubernetes.io/component'] ?? '');
  const before = new Map((await pods(installed.namespace)).items.map((p) => [p.metadata.name, p]));
  const berthCount = [...before.values()].filter((p) => !isBus(p)).length;

  const { streams, result, seconds } = await streamsDuring(cluster, [httpUrl(lanVip), httpUrl(bgpVip)], () =>
    upgradeBerth(cluster, installed, 'upgrade-test'),
  );
  const [layer2, bgp] = streams as [RequestStream, RequestStream];
  t.diagnostic(`helm upgrade until every workload rolled out: ${seconds.toFixed(1)} s`);
  report(t, 'layer 2 during the upgrade', layer2);
  report(t, 'BGP during the upgrade', bgp);
  if (layer2.failed > 0) {
    // What the new agents did with the VIP: for whoever looks into a lost request.
    const logs = await cluster.kube.kubectl([
      'logs',
      '-n',
      installed.namespace,
      '-l',
      'app.kubernetes.io/component=node-agent',
      '--prefix',
      '--tail=200',
    ]);
    for (const line of logs.split('\n').filter((l) => /VIP|stepped back/.test(l))) t.diagnostic(line);
  }

  // Every Berth container runs the new tag, in a new pod, once the old pods have terminated; the
  // bundled NATS and Redis were left alone.
  const berthPods = await eventually('only upgraded Berth pods are left', async () => {
    const now = (await pods(installed.namespace)).items.filter((p) => !isBus(p));
    return now.length === berthCount && now.every((p) => !before.has(p.metadata.name)) ? now : undefined;
  });
  for (const pod of berthPods) {
    for (const container of pod.spec.containers)
      assert.match(container.image, /:upgrade-test$/, `${pod.metadata.name}/${container.name}: ${container.image}`);
  }
  for (const server of ['nats', 'redis']) {
    const bus = (await pods(installed.namespace, `app.kubernetes.io/component=${server}`)).items;
    const had = [...before.values()].filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === server);
    assert.ok(
      bus.length === had.length && bus.every((p) => before.has(p.metadata.name)),
      `${server} was not restarted`,
    );
  }
  // Services keep their addresses through an upgrade.
  assert.deepEqual(await addresses('lan'), [lanVip, lanVip6]);
  assert.equal((await addresses('web'))[0], bgpVip);
  for (const [what, stream] of [
    ['layer 2', layer2],
    ['BGP', bgp],
  ] as const) {
    assert.ok(stream.sent > 1000, `${what}: the stream ran through the upgrade (${stream.sent} requests)`);
    // The goal is none; a handover of a layer-2 VIP has been seen to cost up to half a second.
    assert.ok(
      stream.failed <= stream.sent / 20,
      `${what}: at most 5% of requests failed (${stream.failed}/${stream.sent})`,
    );
    assert.ok(stream.longestGapMs < 2000, `${what}: never 2 s without an answer (${stream.longestGapMs} ms)`);
  }
  return result;
}
