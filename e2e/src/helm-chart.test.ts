// Berth's Helm chart against the real tools: helm lints and renders it, the rig's kube-apiserver
// accepts every rendered object (server-side dry run, with Berth's and the Prometheus Operator's
// CRDs installed), and once applied, RBAC gives each component exactly what it needs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  BERTH_IMAGES,
  berthImage,
  CHART_DIR,
  helmBinary,
  natsServerBinary,
  prometheusOperatorCrds,
  promtoolBinary,
  renderChart,
  startControlPlane,
  type RigControlPlane,
} from '@berth/rig';
import { promtoolTests } from './helm-chart-alerts.js';
import { variablesRead } from './variables.js';

const run = promisify(execFile);
const NAMESPACE = 'berth-system';

/** A Kubernetes object as the API server returned it from the dry run. */
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

interface Container {
  name: string;
  image?: string;
  command?: string[];
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
}

interface PodSpec {
  hostNetwork?: boolean;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
}

/** Values for each way the chart is meant to be installed. */
const INSTALLS: readonly { desc: string; values: Record<string, unknown> }[] = [
  { desc: 'default values (central topology, bundled NATS and Redis)', values: {} },
  {
    desc: 'central topology on the pod network, three speakers with a fixed router ID',
    values: { topology: 'central', routePublisher: { replicas: 3, hostNetwork: false, routerId: '192.0.2.1' } },
  },
  { desc: 'per-node topology', values: { topology: 'per-node', gobgpd: { bgpPort: 1790 } } },
  {
    desc: 'monitoring: ServiceMonitor and PrometheusRule',
    values: { monitoring: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } } },
  },
  {
    desc: 'external NATS and Redis, URLs and credentials from Secrets, TLS',
    values: {
      nats: {
        deploy: false,
        existingSecret: 'bus',
        secretKeys: { url: 'servers', user: '', password: '', creds: 'berth.creds' },
        tls: { existingSecret: 'bus-tls', caKey: 'ca.crt', certKey: 'tls.crt', keyKey: 'tls.key' },
      },
      redis: {
        deploy: false,
        url: 'rediss://redis.example.net:6380',
        existingSecret: 'store',
        secretKeys: { username: 'username', password: 'password' },
        tls: { existingSecret: 'store-tls', caKey: 'ca.crt' },
      },
    },
  },
  {
    desc: 'one NATS server and one Redis, for a small cluster',
    values: { nats: { replicas: 1 }, redis: { sentinel: { enabled: false } } },
  },
];

async function withValuesFile<T>(values: Record<string, unknown>, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-helm-test-'));
  try {
    const file = join(dir, 'values.json');
    await writeFile(file, JSON.stringify(values));
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `helm lint --strict` of the chart with these values: warnings fail too. */
async function lint(values: Record<string, unknown>): Promise<string> {
  return withValuesFile(values, async (file) => {
    try {
      return (await run(helmBinary(), ['lint', '--strict', CHART_DIR, '--values', file])).stdout;
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      assert.fail(`helm lint failed:\n${stdout}\n${stderr}`);
    }
  });
}

/** The pod template of a workload, with its containers. */
function podSpec(object: KubeObject | undefined): PodSpec | undefined {
  const template = object?.spec?.['template'] as { spec?: PodSpec } | undefined;
  return template?.spec;
}

const byName = (objects: readonly KubeObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('helm chart deploy/helm/berth', { timeout: 170_000 }, () => {
  let kube: RigControlPlane;
  /** What the API server made of each install's objects, by description. */
  const accepted = new Map<string, KubeObject[]>();

  /** Server-side dry run of rendered manifests; returns the objects as the API server has them. */
  async function dryRun(manifests: string): Promise<KubeObject[]> {
    const out = await kube.kubectl(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], { input: manifests });
    const parsed = JSON.parse(out) as KubeObject | { kind: 'List'; items: KubeObject[] };
    return 'items' in parsed ? parsed.items : [parsed];
  }

  /** `kubectl auth can-i` as one of Berth's ServiceAccounts. */
  async function canI(component: string, args: readonly string[]): Promise<boolean> {
    const as = `--as=system:serviceaccount:${NAMESPACE}:berth-${component}`;
    try {
      return (await kube.kubectl(['auth', 'can-i', as, ...args])).trim() === 'yes';
    } catch (error) {
      // kubectl says "no" through its exit code; the rig's error carries the answer.
      if (error instanceof Error && /failed: no(\n|$)/.test(error.message)) return false;
      throw error;
    }
  }

  before(async () => {
    kube = await startControlPlane();
    await kube.kubectl(['apply', '--server-side', '-f', join(CHART_DIR, 'crds')]);
    for (const crd of prometheusOperatorCrds()) await kube.kubectl(['apply', '--server-side', '-f', crd]);
    await kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    await kube.kubectl(['create', 'namespace', NAMESPACE]);
  });

  after(async () => {
    await kube.stop();
  });

  for (const { desc, values } of INSTALLS)
    it(`${desc}: helm lint and template pass, the API server accepts every object`, async () => {
      assert.match(await lint(values), /1 chart\(s\) linted, 0 chart\(s\) failed/);
      const objects = await dryRun(await renderChart(values));
      accepted.set(desc, objects);
      for (const component of ['watcher', 'ipam', 'route-publisher', 'node-agent'])
        assert.ok(byName(objects, 'ServiceAccount', `berth-${component}`), `ServiceAccount berth-${component}`);
    });

  it('each topology runs route-publisher with gobgpd beside it, on a Unix socket only', () => {
    const central = accepted.get(INSTALLS[0]?.desc ?? '') ?? [];
    const podNetwork = accepted.get(INSTALLS[1]?.desc ?? '') ?? [];
    const perNode = accepted.get(INSTALLS[2]?.desc ?? '') ?? [];
    const deployment = byName(central, 'Deployment', 'berth-route-publisher');
    const daemonSet = byName(perNode, 'DaemonSet', 'berth-route-publisher');
    assert.ok(deployment && daemonSet, 'central: a Deployment; per-node: a DaemonSet');
    assert.equal(byName(perNode, 'Deployment', 'berth-route-publisher'), undefined);
    assert.ok(byName(central, 'PodDisruptionBudget', 'berth-route-publisher'), 'central speakers have a PDB');
    assert.equal(byName(perNode, 'PodDisruptionBudget', 'berth-route-publisher'), undefined);
    assert.equal(byName(podNetwork, 'Deployment', 'berth-route-publisher')?.spec?.['replicas'], 3);

    const env = (object: KubeObject | undefined) =>
      Object.fromEntries((podSpec(object)?.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '(from the pod)']));
    assert.equal(env(daemonSet)['BERTH_NODE_NAME'], '(from the pod)', 'per-node: each speaker is its node');
    assert.equal(env(deployment)['BERTH_NODE_NAME'], undefined, 'central: not tied to a node');
    assert.equal(env(byName(podNetwork, 'Deployment', 'berth-route-publisher'))['BERTH_ROUTER_ID'], '192.0.2.1');
    for (const workload of [deployment, daemonSet]) {
      const pod = podSpec(workload);
      const gobgpd = pod?.initContainers?.find((c) => c.name === 'gobgpd') as
        (Container & { args?: string[]; restartPolicy?: string }) | undefined;
      assert.ok(gobgpd !== undefined, 'gobgpd beside route-publisher');
      assert.equal(gobgpd.restartPolicy, 'Always', 'gobgpd runs as a sidecar');
      assert.ok(gobgpd.args?.includes('--api-hosts=unix:///run/gobgp/gobgp.sock'), 'gRPC on the socket only');
      assert.equal(env(workload)['BERTH_GOBGP_TARGET'], 'unix:///run/gobgp/gobgp.sock');
    }
    assert.equal(podSpec(daemonSet)?.hostNetwork, true);
    assert.equal(
      podSpec(daemonSet)?.initContainers?.[0]?.securityContext?.allowPrivilegeEscalation,
      false,
      'BGP port 1790 needs no capability',
    );
  });

  it('runs the images scripts/images builds, by the names it tags them with', () => {
    const images = new Set<string>();
    for (const object of accepted.get(INSTALLS[0]?.desc ?? '') ?? [])
      for (const c of [...(podSpec(object)?.containers ?? []), ...(podSpec(object)?.initContainers ?? [])])
        if (c.image?.startsWith('ghcr.io/berth-lb/')) images.add(c.image);
    assert.deepEqual([...images].sort(), BERTH_IMAGES.map((name) => berthImage(name)).sort());
  });

  it("Berth's containers set only variables Berth reads, and probe /healthz and /readyz on their health port", () => {
    const known = variablesRead();
    let checked = 0;
    for (const object of [...accepted.values()].flat()) {
      for (const container of podSpec(object)?.containers ?? []) {
        if (!['watcher', 'ipam', 'route-publisher', 'node-agent'].includes(container.name)) continue;
        checked++;
        const where = `${object.kind} ${object.metadata.name}, container ${container.name}`;
        for (const { name } of container.env ?? [])
          if (name.startsWith('BERTH_')) assert.ok(known.has(name), `${where} sets ${name}, which nothing reads`);
        const healthPort = container.env?.find((e) => e.name === 'BERTH_HEALTH_PORT')?.value;
        const port = container.ports?.find((p) => p.name === 'health')?.containerPort;
        assert.ok(port !== undefined && healthPort === String(port), `${where}: BERTH_HEALTH_PORT is its health port`);
        for (const [probe, path] of [
          [container.readinessProbe, '/readyz'],
          [container.livenessProbe, '/healthz'],
        ] as const) {
          assert.equal(probe?.httpGet?.path, path, `${where} probes ${path}`);
          assert.ok([port, 'health'].includes(probe.httpGet.port), `${where} probes ${path} on its health port`);
        }
      }
    }
    assert.ok(checked >= 4 * INSTALLS.length, `checked only ${checked} containers`);
  });

  it('every container is non-root, read-only, without capabilities, except what a component needs', () => {
    const objects = [...accepted.values()].flat();
    // node-agent's raw sockets need NET_RAW. gobgpd holds NET_BIND_SERVICE as a file capability,
    // which the kernel refuses to exec when the bounding set lacks it; it is granted (privilege
    // escalation allowed) only for a BGP port below 1024. See the chart's README.
    const needs = (container: Container): { add: string[]; escalation: boolean } => {
      if (container.name === 'node-agent') return { add: ['NET_RAW'], escalation: true };
      if (container.name !== 'gobgpd') return { add: [], escalation: false };
      const bgp = container.ports?.find((p) => p.name === 'bgp')?.containerPort ?? 179;
      return { add: ['NET_BIND_SERVICE'], escalation: bgp < 1024 };
    };
    let checked = 0;
    for (const object of objects) {
      const pod = podSpec(object);
      if (pod === undefined) continue;
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${object.kind} ${object.metadata.name}: runAsNonRoot`);
      const usesApi = ['berth-watcher', 'berth-watcher-release', 'berth-bus-auth', 'berth-bus-auth-issuer'].includes(
        object.metadata.name,
      );
      assert.equal(
        pod.automountServiceAccountToken,
        usesApi,
        `${object.metadata.name}: a token only for the watcher, bus-auth and their Jobs, which use the API`,
      );
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = container.securityContext;
        const where = `${object.kind} ${object.metadata.name} container ${container.name}`;
        assert.ok(sc !== undefined, `${where}: a securityContext`);
        const need = needs(container);
        assert.deepEqual(sc.capabilities?.add ?? [], need.add, `${where}: capabilities`);
        assert.equal(sc.runAsNonRoot, true, `${where}: runAsNonRoot`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: drops ALL`);
        assert.equal(sc.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`);
        assert.equal(sc.allowPrivilegeEscalation, need.escalation, `${where}: allowPrivilegeEscalation`);
        checked++;
      }
    }
    assert.ok(checked > 20, `only ${checked} containers checked`);
  });

  it('the bundled NATS: three servers in one JetStream cluster by default, or one, with configurations nats-server accepts', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-helm-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [install, servers] of [
      [INSTALLS[0], 3],
      [INSTALLS[5], 1],
    ] as const) {
      const objects = accepted.get(install?.desc ?? '') ?? [];
      const config = byName(objects, 'ConfigMap', 'berth-nats')?.data?.['nats.conf'];
      assert.ok(config !== undefined && config.includes('jetstream {'), 'JetStream is on');
      assert.equal(config.includes('cluster {'), servers > 1, `a cluster block with ${servers} server(s)`);
      const statefulSet = byName(objects, 'StatefulSet', 'berth-nats');
      assert.equal(statefulSet?.spec?.['replicas'], servers);
      // The environment the kubelet gives each server, its routes' URLs expanded.
      // Each identity's password comes from the Secret: any value will do for the check.
      const env: Record<string, string> = { POD_NAME: 'berth-nats-0' };
      for (const e of podSpec(statefulSet)?.containers[0]?.env ?? [])
        env[e.name] = e.value?.replace('$(NATS_ROUTE_PASSWORD)', 'r0ute') ?? `s3cret-${e.name}`;
      if (servers > 1) {
        env['NATS_ROUTE_PASSWORD'] = 'r0ute';
        assert.equal(
          env['NATS_ROUTE_2'],
          `nats://route:r0ute@berth-nats-2.berth-nats-headless.${NAMESPACE}.svc:6222`,
          'each route names a server by its pod',
        );
      }
      // bus-auth's public key, from the Secret the issuer hook makes: a valid account key will do.
      env['BERTH_CALLOUT_ISSUER'] = 'ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA';
      // TLS by default, clients and routes, with the certificate the chart generated.
      const tls = byName(objects, 'Secret', 'berth-nats-tls') as
        (KubeObject & { data?: Record<string, string> }) | undefined;
      for (const file of ['ca.crt', 'tls.crt', 'tls.key'])
        await writeFile(join(dir, file), Buffer.from(tls?.data?.[file] ?? '', 'base64'));
      assert.equal(config.match(/cert_file: "\/etc\/nats\/tls\/tls.crt"/g)?.length, servers > 1 ? 2 : 1);
      await writeFile(join(dir, 'nats.conf'), config.replaceAll('/etc/nats/tls/', `${dir}/`));
      const { stderr } = await run(natsServerBinary(), ['-c', join(dir, 'nats.conf'), '-t'], {
        env: { ...process.env, ...env },
      });
      assert.match(stderr, /is valid/);
      assert.ok(!config.includes('"node-agent"'), 'a node-agent has no password: its pod token, judged by bus-auth');
      const ipam = podSpec(byName(objects, 'Deployment', 'berth-ipam'));
      const ipamEnv = new Map((ipam?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
      const urls = ipamEnv.get('BERTH_NATS_SERVERS')?.split(',') ?? [];
      assert.equal(urls.length, servers, 'every server for the clients');
      assert.ok(
        urls.every((url) => url.startsWith('tls://')),
        'over TLS',
      );
      assert.equal(ipamEnv.get('BERTH_NATS_TLS_CA'), '/etc/berth/nats/tls/ca.crt', 'trusting the chart’s CA');
      assert.equal(ipamEnv.get('BERTH_NATS_REPLICAS'), servers > 1 ? '3' : undefined, "Berth's buckets on three");
    }
  });

  it('the bundled NATS with your certificate: nats.tls.existingSecret replaces the generated one, servers and clients', async () => {
    const rendered = await renderChart(['nats.tls.existingSecret=bus-tls']);
    assert.doesNotMatch(rendered, /name: berth-nats-tls/, 'nothing generated');
    // The servers (certificate and key) and each of watcher, ipam, route-publisher, node-agent, bus-auth (the CA).
    assert.equal(
      rendered.match(/secretName: bus-tls$/gm)?.length,
      6,
      String(rendered.match(/secretName: .*$/gm)?.join(', ')),
    );
  });

  it('the bundled Redis: three servers under Sentinel by default (ipam asks the sentinels), or one', async () => {
    const env = (objects: readonly KubeObject[]) =>
      new Map(
        (podSpec(byName(objects, 'Deployment', 'berth-ipam'))?.containers[0]?.env ?? []).map((e) => [
          e.name,
          e.value ?? '(from a Secret)',
        ]),
      );
    const ha = accepted.get(INSTALLS[0]?.desc ?? '') ?? [];
    const statefulSet = byName(ha, 'StatefulSet', 'berth-redis');
    assert.equal(statefulSet?.spec?.['replicas'], 3);
    assert.deepEqual(
      podSpec(statefulSet)?.containers.map((c) => c.name),
      ['redis', 'sentinel'],
    );
    assert.ok(byName(ha, 'PodDisruptionBudget', 'berth-redis'), 'a drain takes one Redis pod at a time');
    assert.equal(byName(ha, 'Service', 'berth-redis'), undefined, 'no Service that would mix primary and replicas');
    const haEnv = env(ha);
    assert.equal(haEnv.get('BERTH_REDIS_URL'), undefined);
    assert.equal(
      haEnv.get('BERTH_REDIS_SENTINELS'),
      [0, 1, 2].map((i) => `redis://berth-redis-${i}.berth-redis-headless.${NAMESPACE}.svc:26379`).join(','),
    );
    assert.equal(haEnv.get('BERTH_REDIS_SENTINEL_PASSWORD'), '(from a Secret)');
    assert.equal(haEnv.get('BERTH_REDIS_MIN_REPLICAS'), '1', 'a lease is published once a replica has it');
    // The start scripts are POSIX sh, as the images' shells (busybox, dash) read it.
    const scripts = byName(ha, 'ConfigMap', 'berth-redis-scripts')?.data ?? {};
    assert.deepEqual(Object.keys(scripts).sort(), ['lib.sh', 'redis.sh', 'sentinel.sh']);
    for (const [name, text] of Object.entries(scripts))
      await run('dash', ['-n', '-c', text]).catch((error: unknown) =>
        assert.fail(`${name} is not valid sh: ${String(error)}`),
      );

    const single = accepted.get(INSTALLS[5]?.desc ?? '') ?? [];
    assert.equal(byName(single, 'StatefulSet', 'berth-redis')?.spec?.['replicas'], 1);
    assert.equal(env(single).get('BERTH_REDIS_URL'), `redis://berth-redis.${NAMESPACE}.svc:6379`);
    assert.equal(env(single).get('BERTH_REDIS_SENTINELS'), undefined);
  });

  it('the generated NATS passwords, one per identity, never begin with a digit, which nats-server would read as a number', async () => {
    const passwords = [];
    for (let i = 0; i < 20; i++) {
      const secret = await renderChart({}, { showOnly: ['templates/nats/secret.yaml'] });
      const encoded = [...secret.matchAll(/^\s+password-([a-z-]+): (\S+)$/gm)];
      assert.deepEqual(
        encoded.map((m) => m[1]),
        ['bus-auth', 'cli', 'events', 'ipam', 'route-publisher', 'watcher'],
        `a password for each identity in ${secret}`,
      );
      passwords.push(...encoded.map((m) => Buffer.from(m[2] ?? '', 'base64').toString()));
    }
    for (const password of passwords) assert.match(password, /^[A-Za-z][A-Za-z0-9]{31}$/);
    assert.equal(new Set(passwords).size, passwords.length, 'each identity of each install gets its own');
  });

  it('bad values fail at install with a message that names them', async () => {
    const refused = async (values: string[], message: RegExp) =>
      assert.rejects(renderChart(values), (error: Error) => {
        assert.match(error.message, message);
        return true;
      });
    await refused(['topology=mesh'], /topology.*one of 'central', 'per-node'/);
    await refused(['watcher.replicas=-1'], /watcher\/replicas.*minimum/);
    await refused(['nodeAgent.heartbeatIntervalMs=5'], /heartbeatIntervalMs.*minimum/);
    await refused(['watcher.replicaz=2'], /additional properties 'replicaz' not allowed/);
    await refused(['nats.url=http://nats:4222'], /nats\/url/);
    await refused(['nats.deploy=false'], /set nats.url/);
    await refused(['redis.deploy=false'], /set redis.url/);
    await refused(['routePublisher.routerId=fe80::1'], /routerId/);
    await refused(['nats.replicas=2'], /nats\/replicas/);
    await refused(['redis.replicas=2'], /needs redis.replicas of 3 or more/);
    await refused(['redis.sentinel.minReplicas=3'], /minReplicas must be below redis.replicas/);
    await refused(
      [
        'nats.deploy=false',
        'nats.url=tls://nats.example:4222',
        'nats.existingSecret=nats',
        'nats.secretKeys.token=token',
      ],
      /nats.secretKeys: password, token and creds are each a way to log in, set one/,
    );
  });

  it('the PrometheusRule holds the four alerts, and promtool proves each fires when it should', async (t) => {
    const objects = accepted.get(INSTALLS[3]?.desc ?? '') ?? [];
    assert.ok(byName(objects, 'ServiceMonitor', 'berth'), 'a ServiceMonitor');
    const rule = byName(objects, 'PrometheusRule', 'berth');
    const groups = (rule?.spec?.['groups'] ?? []) as { rules: { alert: string }[] }[];
    const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const alert of [
      'BerthPoolNearlyFull',
      'BerthBGPSessionDown',
      'BerthLayer2VIPUnowned',
      'BerthComponentUnready',
    ])
      assert.ok(alerts.includes(alert), `alert ${alert}`);
    const promtool = promtoolBinary();
    const dir = await mkdtemp(join(tmpdir(), 'berth-helm-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'rules.json'), JSON.stringify(rule?.spec));
    await writeFile(join(dir, 'tests.json'), JSON.stringify(promtoolTests('rules.json', NAMESPACE)));
    const check = await run(promtool, ['check', 'rules', join(dir, 'rules.json')]);
    assert.match(check.stdout, /SUCCESS: \d+ rules found/);
    await run(promtool, ['test', 'rules', join(dir, 'tests.json')]).catch((error: unknown) => {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      assert.fail(`promtool test rules failed:\n${stdout}\n${stderr}`);
    });
  });

  describe('RBAC, applied for real: each ServiceAccount can do what it needs and nothing else', () => {
    before(async () => {
      await kube.kubectl(['apply', '-f', '-'], { input: await renderChart({}) });
      await kube.kubectl(['create', 'namespace', 'shop']);
    });

    const watcherMay: readonly (readonly string[])[] = [
      ['list', 'services', '-A'],
      ['watch', 'services', '-A'],
      ['get', 'services', '-n', 'shop'],
      ['patch', 'services', '-n', 'shop'],
      ['patch', 'services', '--subresource=status', '-n', 'shop'],
      ['list', 'endpointslices.discovery.k8s.io', '-A'],
      ['watch', 'endpointslices.discovery.k8s.io', '-A'],
      ['list', 'nodes'],
      ['watch', 'namespaces'],
      ['list', 'ippools.berth.dev'],
      ['watch', 'bgppeers.berth.dev'],
      ['list', 'bgpconfigs.berth.dev'],
      ['patch', 'ippools.berth.dev', '--subresource=status'],
      ['patch', 'bgppeers.berth.dev', '--subresource=status'],
      ['create', 'events.events.k8s.io', '-n', 'shop'],
      ['list', 'secrets', '-n', NAMESPACE],
      ['watch', 'secrets', '-n', NAMESPACE],
      ['create', 'leases.coordination.k8s.io', '-n', NAMESPACE],
      ['get', 'leases.coordination.k8s.io/berth-watcher', '-n', NAMESPACE],
      ['update', 'leases.coordination.k8s.io/berth-watcher', '-n', NAMESPACE],
    ];
    const watcherMayNot: readonly (readonly string[])[] = [
      ['delete', 'services', '-n', 'shop'],
      ['create', 'services', '-n', 'shop'],
      ['update', 'services', '-n', 'shop'],
      ['list', 'secrets', '-n', 'shop'],
      ['get', 'secrets', '-n', 'kube-system'],
      ['list', 'secrets', '-A'],
      ['get', 'secrets', '-n', NAMESPACE],
      ['create', 'pods', '-n', NAMESPACE],
      ['list', 'pods', '-A'],
      ['patch', 'nodes'],
      ['patch', 'ippools.berth.dev'],
      ['create', 'ippools.berth.dev'],
      ['delete', 'bgpconfigs.berth.dev'],
      ['patch', 'bgpconfigs.berth.dev', '--subresource=status'],
      ['update', 'leases.coordination.k8s.io/kube-controller-manager', '-n', NAMESPACE],
      ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'],
      ['delete', 'leases.coordination.k8s.io/berth-watcher', '-n', NAMESPACE],
      ['create', 'events', '-n', 'shop'],
      ['delete', 'events.events.k8s.io', '-n', 'shop'],
      ['create', 'serviceaccounts/token', '-n', NAMESPACE],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['get', 'configmaps', '-n', NAMESPACE],
    ];

    it('the watcher: everything it reads and writes', async () => {
      const refused = [];
      for (const args of watcherMay) if (!(await canI('watcher', args))) refused.push(args.join(' '));
      assert.deepEqual(refused, [], 'refused to the watcher');
    });

    it('the watcher: nothing more (no deletes, no Secrets elsewhere, no pods, no other Leases)', async () => {
      const allowed = [];
      for (const args of watcherMayNot) if (await canI('watcher', args)) allowed.push(args.join(' '));
      assert.deepEqual(allowed, [], 'allowed to the watcher');
    });

    /**
     * Every resource rule RBAC grants a component in Berth's namespace (cluster-wide ones
     * included), as `resource [names] [verbs]`, from `kubectl auth can-i --list`.
     */
    async function grants(component: string): Promise<string[]> {
      const as = `--as=system:serviceaccount:${NAMESPACE}:berth-${component}`;
      const list = await kube.kubectl(['auth', 'can-i', '--list', as, '-n', NAMESPACE]);
      return list
        .split('\n')
        .slice(1)
        .filter((line) => /^\S/.test(line)) // non-resource URLs (discovery, /healthz) start with blanks
        .map((line) => {
          const [resource = '', , names = '', verbs = ''] = line.trim().split(/\s{2,}/);
          return `${resource} ${names} ${verbs}`;
        })
        .sort();
    }
    // What every authenticated user may do: ask the API server about itself.
    const everyone = [
      'selfsubjectaccessreviews.authorization.k8s.io [] [create]',
      'selfsubjectreviews.authentication.k8s.io [] [create]',
      'selfsubjectrulesreviews.authorization.k8s.io [] [create]',
    ];

    it("the watcher's whole grant is exactly the list in the chart's README", async () => {
      assert.deepEqual(
        await grants('watcher'),
        [
          ...everyone,
          'bgpconfigs.berth.dev [] [list watch]',
          'bgppeers.berth.dev [] [list watch]',
          'bgppeers.berth.dev/status [] [patch]',
          'endpointslices.discovery.k8s.io [] [list watch]',
          'events.events.k8s.io [] [create patch]',
          'ippools.berth.dev [] [list watch]',
          'ippools.berth.dev/status [] [patch]',
          'leases.coordination.k8s.io [] [create]',
          'leases.coordination.k8s.io [berth-watcher] [get update]',
          'namespaces [] [list watch]',
          'nodes [] [list watch]',
          'secrets [] [list watch]',
          'services [] [get list watch patch]',
          'services/status [] [patch]',
        ].sort(),
      );
    });

    it("the uninstall Job's grant: Berth's Services' status and finalizer, and deleting the one Lease", async () => {
      assert.deepEqual(
        await grants('watcher-release'),
        [
          ...everyone,
          'leases.coordination.k8s.io [berth-watcher] [delete]',
          'secrets [berth-bus-auth-issuer] [delete]',
          'services [] [get list patch]',
          'services/status [] [patch]',
        ].sort(),
      );
    });

    it('bus-auth: token reviews, nothing else', async () => {
      assert.deepEqual(
        await grants('bus-auth'),
        [...everyone, 'tokenreviews.authentication.k8s.io [] [create]'].sort(),
      );
      for (const args of [...watcherMay, ...watcherMayNot])
        assert.equal(await canI('bus-auth', args), false, `bus-auth may not ${args.join(' ')}`);
    });

    it("the issuer hook's grant: making its one Secret, reading and completing it", async () => {
      assert.deepEqual(
        await grants('bus-auth-issuer'),
        [...everyone, 'secrets [] [create]', 'secrets [berth-bus-auth-issuer] [get patch]'].sort(),
      );
    });

    for (const component of ['ipam', 'route-publisher', 'node-agent'])
      it(`${component}: nothing at all in the API`, async () => {
        const allowed = [];
        for (const args of [...watcherMay, ...watcherMayNot])
          if (await canI(component, args)) allowed.push(args.join(' '));
        assert.deepEqual(allowed, [], `allowed to ${component}`);
        assert.deepEqual(await grants(component), everyone.toSorted());
      });
  });
});
