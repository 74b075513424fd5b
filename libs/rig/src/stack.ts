import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBerthProcess, type BerthProcess } from './berth-process.js';
import { BERTH_NAMESPACE as NAMESPACE, installBerthApi, registerNode, watcherKubeconfig } from './cluster.js';
import { controlPlaneBinDir, startControlPlane, type RigControlPlane } from './control-plane.js';
import { RigError } from './errors.js';
import { startGobgp, type RigGobgp } from './gobgp.js';
import { routerBirdConfig, startLab, type LabHost, type RigBird, type RigBusLink, type RigLab } from './lab.js';
import { startNats, startNatsCluster, type RigNats, type RigNatsCluster } from './nats.js';
import { makeRigDir, stopAndRemove } from './process.js';
import { startRedis, type RigRedis } from './redis.js';
import { startRedisSentinel, type RigRedisSentinel } from './redis-sentinel.js';
import { repoRoot } from './tools.js';

const run = promisify(execFile);
const deploy = (...path: string[]) => join(repoRoot, 'deploy', ...path);

/** The lab's hosts: two Kubernetes nodes and the central BGP speaker's host, in this order. */
const NODES = ['node-1', 'node-2'] as const;
const SPEAKER = 'speaker';
const ROUTER_ASN = 65000;
const HEALTH_PORTS = { watcher: 0, ipam: 1, 'route-publisher': 2, 'node-agent': 3 } as const;

export interface StackOptions {
  /** Run the services against this cluster instead of a local control plane. */
  readonly kubeconfig?: string;
  /**
   * Put the nodes, the BGP speaker and a BIRD router in network namespaces, so routes reach a
   * router and node-agents answer ARP/NDP (needs root). Default: when root, on a local control plane.
   */
  readonly lab?: boolean;
  /** The watcher's health port; the others follow (ipam +1, route-publisher +2, node-agent +3). 0: free ports. */
  readonly healthPortBase?: number;
  /** Told each step as it starts, for a person waiting. */
  readonly progress?: (step: string) => void;
  /** Three nats-servers in one JetStream cluster (Berth's buckets at three replicas) instead of one. */
  readonly natsCluster?: boolean;
  /** Redis with two replicas and three sentinels, and two ipam replicas, instead of one of each. */
  readonly redisSentinel?: boolean;
}

/** A service of the stack, running as its own process. */
export interface StackService {
  readonly name: keyof typeof HEALTH_PORTS;
  /** The lab node it runs on (node-agent only). */
  readonly node?: string;
  readonly process: BerthProcess;
}

/** The whole of Berth on one machine, as `./scripts/start` runs it. */
export interface BerthStack {
  readonly dir: string;
  /** An administrator's kubeconfig: the local control plane's, or the one given. */
  readonly kubeconfig: string;
  /** `source` it for kubectl on the PATH, KUBECONFIG and the bus settings the `berth` CLI reads. */
  readonly envFile: string;
  /** Where each service's JSON log lines go, one file per service. */
  readonly logDir: string;
  /** The one nats-server; undefined with `natsCluster`. */
  readonly nats: RigNats | undefined;
  /** With `natsCluster`: the three servers. */
  readonly natsCluster: RigNatsCluster | undefined;
  /** The one Redis; undefined with `redisSentinel`. */
  readonly redis: RigRedis | undefined;
  /** With `redisSentinel`: the primary, its replicas and the sentinels. */
  readonly redisSentinel: RigRedisSentinel | undefined;
  readonly gobgp: RigGobgp;
  /** Present with a lab: the nodes, the speaker and the router, in network namespaces. */
  readonly lab: RigLab | undefined;
  /** The services as they run now (a restarted one is replaced). */
  readonly services: readonly StackService[];
  /** The local control plane; undefined when running against another cluster. */
  readonly controlPlane: RigControlPlane | undefined;
  /** Each node-agent's own way to the bus, by node: cut it to cut one node off. */
  readonly busLinks: ReadonlyMap<string, RigBusLink>;
  /** Stops a service (SIGKILL with `kill`, as a crash; else SIGTERM) and starts it again with the same settings; resolves once it has started. */
  restartService(service: StackService, options?: { kill?: boolean }): Promise<StackService>;
  /** This version's kubectl with `kubeconfig`. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** What to try next, one line each, for a person at a terminal. */
  guide(): string[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** BIRD 2 as the lab's upstream router: takes every path the speaker sends (ADD-PATH) as ECMP routes. */
function birdConfig(speaker: LabHost, asn: number): string {
  const session = (name: string, family: 'ipv4' | 'ipv6', local: string, neighbor: string) =>
    `protocol bgp ${name} {\n  local ${local} as ${ROUTER_ASN}; neighbor ${neighbor} as ${asn};\n` +
    `  ${family} { import all; export none; add paths rx; };\n}\n`;
  return routerBirdConfig(
    session('speaker4', 'ipv4', '192.0.2.254', speaker.ipv4) +
      session('speaker6', 'ipv6', '2001:db8::254', speaker.ipv6),
  );
}

export async function startStack(options: StackOptions = {}): Promise<BerthStack> {
  const progress = options.progress ?? (() => undefined);
  const root = process.getuid?.() === 0;
  const withLab = options.lab ?? (root && options.kubeconfig === undefined);
  if (withLab && !root)
    throw new RigError('the lab needs root (network namespaces): run as root or without it', 'RIG_NEEDS_ROOT');
  if (options.kubeconfig !== undefined && !existsSync(options.kubeconfig))
    throw new RigError(`--kubeconfig ${options.kubeconfig}: no such file`, 'RIG_BAD_OPTION');
  const main = (name: string) => {
    const file = join(repoRoot, 'services', name, 'dist', 'main.js');
    if (!existsSync(file)) throw new RigError(`${file} is missing: run npm run build`, 'RIG_NOT_BUILT');
    return file;
  };
  const dir = makeRigDir('stack');
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const cleanups: (() => Promise<unknown>)[] = [];
  const services: StackService[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.process.stop()));
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
    await stopAndRemove([], [dir]);
  };
  try {
    let lab: RigLab | undefined;
    if (withLab) {
      progress('creating the lab: two nodes, a BGP speaker and a router in network namespaces');
      lab = await startLab([...NODES, SPEAKER]);
      cleanups.push(() => (lab as RigLab).stop());
    }
    const host = (name: string) => lab?.hosts.find((h) => h.name === name);
    progress(
      options.kubeconfig === undefined
        ? 'starting NATS, Redis, gobgpd, etcd and kube-apiserver'
        : 'starting NATS, Redis and gobgpd',
    );
    const speakerNetns = host(SPEAKER)?.netns;
    const [bus, store, gobgp, kube] = await Promise.all([
      options.natsCluster === true ? startNatsCluster() : startNats(),
      options.redisSentinel === true ? startRedisSentinel() : startRedis(),
      startGobgp(speakerNetns === undefined ? {} : { netns: speakerNetns }),
      options.kubeconfig === undefined ? startControlPlane() : Promise.resolve(undefined),
    ]);
    const nats = 'restart' in bus ? bus : undefined;
    const natsCluster = 'restart' in bus ? undefined : bus;
    const redis = 'restart' in store ? store : undefined;
    const redisSentinel = 'restart' in store ? undefined : store;
    // What each Berth process reads to reach the bus as itself, and the servers a node's links lead to.
    const replicasEnv = natsCluster === undefined ? {} : { BERTH_NATS_REPLICAS: '3' };
    const busEnv = (identity: string) => ({ ...bus.as(identity).env, ...replicasEnv });
    const busUrls = natsCluster?.urls ?? [nats?.url ?? ''];
    cleanups.push(
      () => bus.stop(),
      () => store.stop(),
      () => gobgp.stop(),
    );
    if (kube !== undefined) cleanups.push(() => kube.stop());
    const kubeconfig = kube === undefined ? (options.kubeconfig ?? '') : kube.kubeconfig;
    const kubectlBin = join(controlPlaneBinDir(), 'kubectl');
    const kubectl = async (args: readonly string[], input?: string) => {
      const child = run(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000 });
      if (input !== undefined) child.child.stdin?.end(input);
      try {
        return (await child).stdout;
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? String(error);
        throw new RigError(`kubectl ${args.join(' ')}: ${stderr}`, 'RIG_COMMAND_FAILED');
      }
    };

    progress("installing Berth's CRDs and the watcher's RBAC");
    await installBerthApi(kubectl);
    let watcherConfig = kubeconfig;
    if (kube !== undefined) {
      watcherConfig = await watcherKubeconfig(kube);
      await registerNodes(kube, lab);
      progress('applying the default IPPools and BGPConfig (deploy/examples/)');
      await kubectl(['apply', '-f', deploy('examples', 'ippool.yaml'), '-f', deploy('examples', 'bgpconfig.yaml')]);
      // Without a lab, gobgpd runs in this machine's own network namespace: no BGP port there.
      if (lab === undefined)
        await kubectl(['patch', 'bgpconfig', 'default', '--type=merge', '-p', '{"spec":{"listenPort":-1}}']);
      else await kubectl(['apply', '-f', deploy('examples', 'bgppeer.yaml')]);
    }

    let bird: RigBird | undefined;
    if (lab !== undefined) {
      progress('starting BIRD as the upstream router');
      bird = await lab.startBird(birdConfig(host(SPEAKER) as LabHost, 64512));
    }

    progress('starting watcher, ipam, route-publisher' + (lab === undefined ? '' : ' and a node-agent on each node'));
    const base = options.healthPortBase ?? 9101;
    const port = (name: keyof typeof HEALTH_PORTS) => String(base === 0 ? 0 : base + HEALTH_PORTS[name]);
    const settings = new Map<
      StackService,
      { env: Record<string, string>; node: LabHost | undefined; replica: string }
    >();
    /** Starts a service; `replica` tells apart the log files of several of one name (`-2`). */
    const launch = (
      name: keyof typeof HEALTH_PORTS,
      env: Record<string, string>,
      node?: LabHost,
      replica = '',
    ): StackService => {
      const file = node === undefined ? `${name}${replica}.log` : `${name}-${node.name}.log`;
      const log = createWriteStream(join(logDir, file), { flags: 'a' });
      const proc = startBerthProcess(
        main(name),
        {
          BERTH_HEALTH_PORT: port(name),
          BERTH_NAMESPACE: NAMESPACE,
          // A node-agent's credential is its node's own: the caller gives it.
          ...(name === 'node-agent' ? replicasEnv : busEnv(name)),
          ...env,
        },
        { ...(node === undefined ? {} : { netns: node.netns }), echo: log },
      );
      void proc.exit.then(() => log.end());
      const service: StackService = { name, process: proc, ...(node === undefined ? {} : { node: node.name }) };
      services.push(service);
      settings.set(service, { env, node, replica });
      return service;
    };
    const busLinks = new Map<string, RigBusLink>();
    launch('watcher', { BERTH_KUBECONFIG: watcherConfig });
    launch('ipam', store.env);
    // Under Sentinel a second ipam replica leases too, as the chart runs two; its health port is free.
    if (redisSentinel !== undefined) launch('ipam', { ...store.env, BERTH_HEALTH_PORT: '0' }, undefined, '-2');
    launch('route-publisher', { BERTH_GOBGP_TARGET: gobgp.target, BERTH_SPEAKER_NAME: SPEAKER });
    for (const name of lab === undefined ? [] : NODES) {
      const node = host(name) as LabHost;
      const link = await linksTo(lab as RigLab, node, busUrls);
      busLinks.set(name, link);
      const access = await bus.nodeAgent(name);
      launch(
        'node-agent',
        { ...access.env, BERTH_NATS_SERVERS: link.url, BERTH_NODE_NAME: name, BERTH_L2_INTERFACES: 'eth0' },
        node,
      );
    }
    const started = async (s: StackService) => {
      const exited = s.process.exit.then((code) => {
        const last =
          s.process.lines.findLast((l) => l.level === 'fatal' || l.level === 'error') ?? s.process.lines.at(-1);
        const why = last === undefined ? '' : `: ${JSON.stringify(last).slice(0, 600)}`;
        throw new RigError(`${s.name} exited with ${code} before it started${why}`, 'RIG_SERVER_DIED');
      });
      await Promise.race([s.process.logged('started', 30_000), exited]);
    };
    await Promise.all(services.map(started));
    const restartService = async (service: StackService, { kill = false } = {}) => {
      const setting = settings.get(service);
      if (setting === undefined)
        throw new RigError(`${service.name} is not one of the stack's services`, 'RIG_BAD_OPTION');
      service.process.child.kill(kill ? 'SIGKILL' : 'SIGTERM');
      await service.process.exit;
      services.splice(services.indexOf(service), 1);
      settings.delete(service);
      const again = launch(service.name, setting.env, setting.node, setting.replica);
      await started(again);
      return again;
    };

    const envFile = join(dir, 'berth.env');
    const cliEnv = {
      ...busEnv('cli'),
      KUBECONFIG: kubeconfig,
      BERTH_KUBECONFIG: kubeconfig,
      BERTH_GOBGP_TARGET: gobgp.target,
      ...(lab === undefined || bird === undefined
        ? {}
        : { BERTH_LAB_ROUTER_NETNS: lab.router.netns, BERTH_LAB_BIRD_SOCKET: bird.socket }),
    };
    writeFileSync(
      envFile,
      [
        `export PATH=${controlPlaneBinDir()}:$PATH`,
        ...Object.entries(cliEnv).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
        // The CLI with the Node that runs the stack: the machine's own may be too old for it.
        `berth() { ${shellQuote(process.execPath)} ${shellQuote(join(repoRoot, 'cli', 'dist', 'main.js'))} "$@"; }`,
        '',
      ].join('\n'),
    );
    const stack: BerthStack = {
      dir,
      kubeconfig,
      envFile,
      logDir,
      nats,
      natsCluster,
      redis,
      redisSentinel,
      gobgp,
      lab,
      services,
      controlPlane: kube,
      busLinks,
      restartService,
      kubectl,
      guide: () => guide(stack, kube),
      stop,
      [Symbol.asyncDispose]: stop,
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One link per server (ports 4222 and up inside the host), cut and restored as one. */
async function linksTo(lab: RigLab, host: LabHost, urls: readonly string[]): Promise<RigBusLink> {
  const links = await Promise.all(urls.map((url, i) => lab.busLink(host, url, 4222 + i)));
  return {
    url: links.map((l) => l.url).join(','),
    cut: () => links.forEach((l) => l.cut()),
    restore: () => links.forEach((l) => l.restore()),
    close: async () => {
      await Promise.all(links.map((l) => l.close()));
    },
  };
}

async function registerNodes(kube: RigControlPlane, lab: RigLab | undefined): Promise<void> {
  const hosts = lab?.hosts.filter((h) => (NODES as readonly string[]).includes(h.name)) ?? [
    // No lab: the nodes exist for the API, at addresses nothing answers on.
    { name: NODES[0], ipv4: '192.0.2.11', ipv6: '2001:db8::11' },
    { name: NODES[1], ipv4: '192.0.2.12', ipv6: '2001:db8::12' },
  ];
  for (const host of hosts) await registerNode(kube, host);
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function guide(stack: BerthStack, kube: RigControlPlane | undefined): string[] {
  const lines = [
    kube === undefined
      ? `Berth's services run here against the cluster of ${stack.kubeconfig}.`
      : `kube-apiserver ${kube.version} at ${kube.server}, with nodes ${NODES.join(', ')}, Berth's CRDs and the default IPPools.`,
    `NATS at ${stack.natsCluster?.urls.join(', ') ?? stack.nats?.url ?? ''}, Redis at ${stack.redis === undefined ? `sentinels ${stack.redisSentinel?.env['BERTH_REDIS_SENTINELS'] ?? ''}` : `${stack.redis.host}:${stack.redis.port}`}, gobgpd's API at ${stack.gobgp.target}.`,
    `Logs: ${stack.logDir}/`,
    '',
    'In another terminal:',
    `  source ${stack.envFile}          # kubectl on the PATH, KUBECONFIG, and the \`berth\` CLI`,
    '  kubectl apply -f deploy/examples/service.yaml',
    '  kubectl get service web -w        # EXTERNAL-IP appears',
    '  berth status                      # pools, Services with their VIPs and next hops, BGP peers',
    '  berth explain default/web         # in one sentence: where its address and route stand',
    '  gobgp --target $BERTH_GOBGP_TARGET global rib    # the route, one path per node',
  ];
  if (stack.lab !== undefined) {
    lines.push(
      '  birdc -s $BERTH_LAB_BIRD_SOCKET show route       # what the upstream router learned',
      '  ip netns exec $BERTH_LAB_ROUTER_NETNS ip route   # ECMP routes in its kernel',
      '  kubectl apply -f deploy/examples/service-layer2.yaml   # an address on the LAN, answered over ARP:',
      '  ip netns exec $BERTH_LAB_ROUTER_NETNS arping -c 3 -I br0 192.0.2.200',
    );
  } else if (kube !== undefined) {
    lines.push('  (run as root for the lab: routes at a BIRD router, and node-agents answering ARP/NDP)');
  } else {
    lines.push(
      '  Addresses come from your IPPools (deploy/examples/ippool.yaml is one). Routes and ARP/NDP answers',
      '  need a node-agent on each node: install those with the Helm chart (deploy/helm/berth).',
    );
  }
  lines.push('', 'Ctrl-C stops everything.');
  return lines;
}
