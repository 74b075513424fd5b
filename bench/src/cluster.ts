/**
 * Berth on a cluster of real kubelets, as a user runs it: how long the rig's cluster takes to start
 * (images, control plane, nodes Ready, DNS), from `helm install` to every Berth pod Ready, and from
 * a Service's creation to the first HTTP request answered through its VIP from the client behind
 * the router (BGP), over SERVICES Services sharing one Deployment. Then what a client streaming
 * requests (one every 20 ms, each on a new connection) to a BGP VIP and a layer-2 VIP (ETP Local,
 * two pods) sees while `helm upgrade` rolls every component, and while the layer-2 VIP's owner
 * node is lost: requests sent, failed, and the longest time without an answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  installBerth,
  startEchoService,
  startKubeCluster,
  stopLayer2Owner,
  streamsDuring,
  upgradeBerth,
  type RequestStream,
} from '@berth/rig';
import { percentile, report, type Row } from './report.js';

const SERVICES = Number(process.env['BENCH_SERVICES'] ?? 50);
const TOPOLOGY = process.env['BENCH_TOPOLOGY'] === 'per-node' ? 'per-node' : 'central';

const began = performance.now();
const cluster = await startKubeCluster({ progress: (step) => console.error(`cluster: ${step}`) });
const clusterSeconds = (performance.now() - began) / 1000;
try {
  // The bus (single NATS and Redis servers, as this bench measured before the chart's default
  // became three of each) stays on the node no scenario stops.
  const busNode = 'node3';
  const berth = await installBerth(cluster, {
    topology: TOPOLOGY,
    busNode,
    set: ['nats.replicas=1', 'redis.sentinel.enabled=false'],
  });
  const kubectl = (args: string[], input?: string) => cluster.kube.kubectl(args, input === undefined ? {} : { input });
  const labels = { app: 'bench' };
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bench', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'web',
                image: cluster.images.echo,
                imagePullPolicy: 'Never',
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    }),
  );
  await kubectl(['rollout', 'status', 'deployment/bench', '--timeout=180s']);
  const firstAnswer: number[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const name = `bench-${i}`;
    const start = performance.now();
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'default' },
        spec: {
          type: 'LoadBalancer',
          loadBalancerClass: 'berth.dev/lb',
          selector: labels,
          ports: [{ port: 80, targetPort: 8080 }],
        },
      }),
    );
    let vip = '';
    for (let attempt = 0; attempt < 600; attempt++) {
      vip = vip || (await kubectl(['get', 'service', name, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']));
      if (
        vip !== '' &&
        (await cluster.curl(`http://${vip}/`, 1000).then(
          () => true,
          () => false,
        ))
      )
        break;
      await sleep(50);
    }
    firstAnswer.push((performance.now() - start) / 1000);
  }
  const sorted = [...firstAnswer].sort((a, b) => a - b);

  const avoidNodes = [busNode];
  const bgpVip = await startEchoService(cluster, {
    name: 'web',
    replicas: 2,
    avoidNodes,
    externalTrafficPolicy: 'Local',
  });
  const layer2Vip = await startEchoService(cluster, {
    name: 'lan',
    replicas: 2,
    avoidNodes,
    annotations: { 'berth.dev/pool': 'lan' },
    externalTrafficPolicy: 'Local',
  });
  await cluster.curl(`http://${layer2Vip}/`);
  const upgrade = await streamsDuring(cluster, [`http://${layer2Vip}/`, `http://${bgpVip}/`], () =>
    upgradeBerth(cluster, berth, 'bench-upgrade'),
  );
  const [upgradeLayer2, upgradeBgp] = upgrade.streams;
  const loss = await stopLayer2Owner(cluster, { layer2Vip, bgpVip });
  const streamRows = (what: string, stream: RequestStream | undefined): Row[] => [
    [`${what}: requests sent`, String(stream?.sent ?? 0), ''],
    [`${what}: requests failed`, String(stream?.failed ?? 0), ''],
    [`${what}: longest time without an answer`, String(stream?.longestGapMs ?? 0), 'ms'],
  ];

  const rows: Row[] = [
    ['cluster start (lab, images, control plane, nodes Ready, DNS)', clusterSeconds.toFixed(1), 's'],
    ...Object.entries(cluster.timings).map(([phase, s]): Row => [`  of which ${phase}`, s.toFixed(1), 's']),
    [`helm install to every Berth pod Ready (${TOPOLOGY})`, berth.readySeconds.toFixed(1), 's'],
    [
      `Service created to first answer through its VIP, p50 (${SERVICES} Services)`,
      percentile(sorted, 50).toFixed(2),
      's',
    ],
    ['Service created to first answer through its VIP, p99', percentile(sorted, 99).toFixed(2), 's'],
    ['helm upgrade (new image tag) until every workload rolled out', upgrade.seconds.toFixed(1), 's'],
    ...streamRows('upgrade, layer-2 VIP', upgradeLayer2),
    ...streamRows('upgrade, BGP VIP', upgradeBgp),
    ...streamRows(`${loss.stopped.name} lost, layer-2 VIP`, loss.layer2),
    ...streamRows(`${loss.stopped.name} lost, BGP VIP`, loss.bgp),
  ];
  report('cluster', rows, { nodes: cluster.nodes.length, topology: TOPOLOGY, services: SERVICES });
} finally {
  await cluster.stop();
}
