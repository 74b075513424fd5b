#!/usr/bin/env node
// berth-rig: the test rig's servers for a person at a terminal.
//   berth-rig start [--kubeconfig FILE] [--no-lab] [--health-port-base N]
//                     the whole of Berth on this machine (./scripts/start); Ctrl-C stops it all
//   berth-rig up      NATS, Redis, gobgpd and the control plane alone, for poking at by hand
//   berth-rig cluster [--nodes N] [--no-berth]
//                     a Kubernetes cluster of real kubelets in the lab, Berth installed by Helm
//   berth-rig sweep   remove what killed test runs left behind
import { parseArgs } from 'node:util';
import { controlPlaneBinDir, startControlPlane } from './control-plane.js';
import { installBerth } from './berth-install.js';
import { startKubeCluster } from './kube-cluster.js';
import { startGobgp } from './gobgp.js';
import { startNats } from './nats.js';
import { sweepStaleRigs } from './process.js';
import { startRedis } from './redis.js';
import { startStack } from './stack.js';

const USAGE =
  'usage: berth-rig start [--kubeconfig FILE] [--no-lab] [--health-port-base N] | berth-rig up | berth-rig cluster [--nodes N] [--no-berth] | berth-rig sweep';

const START_HELP = `usage: ./scripts/start [--kubeconfig FILE] [--no-lab] [--health-port-base N]

Runs Berth on this machine: a local kube-apiserver with two nodes, NATS, Redis, gobgpd, the
services, and (as root) a lab of network namespaces with a BIRD router. Ctrl-C stops it all.

  --kubeconfig FILE       run the services against that cluster instead of a local one
  --no-lab                no network namespaces: addresses only, no node-agents, no routes
  --health-port-base N    health ports N (watcher), N+1 (ipam), N+2 (route-publisher); 0: free ports
  --cluster [--nodes N] [--topology central|per-node]
                          instead: a Kubernetes cluster of real kubelets in the lab, Berth installed
                          by its Helm chart, a client host to curl VIPs from`;

const say = (line: string) => process.stderr.write(`${line}\n`);

/** Stops everything on Ctrl-C or SIGTERM, once, and exits 0. */
function stopOnSignal(stop: () => Promise<unknown>): void {
  // The rig's own handlers SIGKILL at once; a person's Ctrl-C gets a clean stop instead.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  let stopping = false;
  const once = () => {
    // A second Ctrl-C while stopping would kill the rig half-way: everything is being stopped already.
    if (stopping) return;
    stopping = true;
    say('stopping…');
    void stop().then(
      () => process.exit(0),
      (error: unknown) => {
        say(`stopping failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', once);
  process.on('SIGTERM', once);
}

async function start(args: string[]): Promise<void> {
  // --cluster: Berth as users run it, on a cluster of kubelets (`berth-rig cluster`'s options follow).
  if (args.includes('--cluster')) {
    await cluster(args.filter((arg) => arg !== '--cluster'));
    return;
  }
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      'no-lab': { type: 'boolean', default: false },
      'health-port-base': { type: 'string', default: '9101' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    say(START_HELP);
    return;
  }
  const base = Number(values['health-port-base']);
  if (!Number.isInteger(base) || base < 0 || base > 65532) {
    throw new Error(`--health-port-base ${values['health-port-base']} is not a port: give 0 (free ports) or 1–65532`);
  }
  sweepStaleRigs();
  const began = Date.now();
  const stack = await startStack({
    ...(values.kubeconfig === undefined ? {} : { kubeconfig: values.kubeconfig }),
    ...(values['no-lab'] ? { lab: false } : {}),
    healthPortBase: base,
    progress: (step) => say(`[${((Date.now() - began) / 1000).toFixed(1)} s] ${step}`),
  });
  stopOnSignal(() => stack.stop());
  say(`Berth is running (${((Date.now() - began) / 1000).toFixed(1)} s).\n`);
  for (const line of stack.guide()) say(line);
  // The line a script looks for.
  process.stdout.write(`BERTH_STACK_ENV=${stack.envFile}\n`);
  for (const service of stack.services) {
    void service.process.exit.then((code) => {
      say(
        `${service.name}${service.node === undefined ? '' : ` on ${service.node}`} exited with ${code}; see ${stack.logDir}`,
      );
    });
  }
}

async function up(): Promise<void> {
  sweepStaleRigs();
  const [nats, redis, gobgp, kube] = await Promise.all([startNats(), startRedis(), startGobgp(), startControlPlane()]);
  stopOnSignal(() => Promise.all([nats.stop(), redis.stop(), gobgp.stop(), kube.stop()]));
  for (const line of [
    `kube-apiserver ${kube.version} at ${kube.server}`,
    `  ${controlPlaneBinDir()}/kubectl --kubeconfig ${kube.kubeconfig} get namespaces`,
    `NATS (JetStream) at ${nats.url}, Redis at ${redis.host}:${redis.port}, gobgpd gRPC at ${gobgp.target}`,
    '',
    'The environment for Berth processes (each service connects to NATS as itself: BERTH_NATS_USER is',
    "watcher, ipam, route-publisher or cli, and BERTH_NATS_PASSWORD that user's below; a node-agent's",
    "user is its node's own, which the rig makes for a test):",
    ...Object.entries({ ...nats.as('rig').env, ...redis.env, BERTH_GOBGP_TARGET: gobgp.target })
      .filter(([k]) => k !== 'BERTH_NATS_USER' && k !== 'BERTH_NATS_PASSWORD')
      .map(([k, v]) => `  export ${k}=${v}`),
    ...['watcher', 'ipam', 'route-publisher', 'cli'].map(
      (user) => `  # ${user}: BERTH_NATS_USER=${user} BERTH_NATS_PASSWORD=${nats.as(user).password}`,
    ),
    '',
    'Ctrl-C stops everything.',
  ]) {
    say(line);
  }
}

const CLUSTER_HELP = `usage: npm run rig -- cluster [--nodes N] [--topology central|per-node] [--no-berth]

Builds the images, brings up a Kubernetes cluster of real kubelets in network namespaces (a
control-plane host, N nodes, a BIRD router, a client host) and installs Berth with its Helm chart
(unless --no-berth). Needs root. Ctrl-C stops and removes it all.`;

async function cluster(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string', default: '3' },
      topology: { type: 'string', default: 'central' },
      'no-berth': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    say(CLUSTER_HELP);
    return;
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 8) throw new Error(`--nodes ${values.nodes}: give 1–8`);
  const topology = values.topology;
  if (topology !== 'central' && topology !== 'per-node')
    throw new Error(`--topology ${topology}: give central or per-node`);
  sweepStaleRigs();
  const began = Date.now();
  const progress = (step: string) => say(`[${((Date.now() - began) / 1000).toFixed(1)} s] ${step}`);
  const kube = await startKubeCluster({ nodes, berthImages: !values['no-berth'], progress });
  stopOnSignal(() => kube.stop());
  const berth = values['no-berth'] ? undefined : await installBerth(kube, { topology, progress });
  const kubectl = `${controlPlaneBinDir()}/kubectl --kubeconfig ${kube.kube.kubeconfig}`;
  for (const line of [
    `The cluster is up (${((Date.now() - began) / 1000).toFixed(1)} s): ${kube.nodes.map((n) => `${n.name} ${n.host.ipv4}`).join(', ')}.`,
    `  ${kubectl} get nodes,pods -A -o wide`,
    ...(berth === undefined
      ? []
      : [
          `Berth is installed (helm release ${berth.release} in ${berth.namespace}); try a Service:`,
          `  ${kubectl} create deployment web --image=${kube.images.echo} --replicas=3 --port=8080`,
          `  ${kubectl} apply -f deploy/examples/service.yaml   # a LoadBalancer Service of Berth's for app=web`,
          `  ${kubectl} get service web   # EXTERNAL-IP is its VIP, from 203.0.113.0/24`,
          `  ip netns exec ${kube.client.netns} curl http://VIP/   # from the client, through the router`,
          `  (dual-stack: add ipFamilyPolicy: PreferDualStack to the Service; then curl -g 'http://[IPv6 VIP]/')`,
          `  ip netns exec ${kube.lab.router.netns} ip route   # the router's ECMP routes to the VIP`,
        ]),
    'Ctrl-C stops everything.',
  ]) {
    say(line);
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'start') await start(rest);
  else if (command === 'up') await up();
  else if (command === 'cluster') await cluster(rest);
  else if (command === 'sweep') for (const dir of sweepStaleRigs()) process.stdout.write(`removed ${dir}\n`);
  else {
    say(USAGE);
    process.exit(2);
  }
} catch (error) {
  const usage = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? ' (--help lists them)' : '';
  say(`berth-rig ${command ?? ''}: ${error instanceof Error ? error.message : String(error)}${usage}`);
  process.exit(1);
}
