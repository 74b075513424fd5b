#!/usr/bin/env node
// berth-rig: the test rig's servers for a person at a terminal.
//   berth-rig up [--services]   start NATS, Redis, gobgpd and the control plane (and Berth's
//                               services against them); print how to reach them; Ctrl-C stops all
//   berth-rig sweep             remove what killed test runs left behind
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlPlaneBinDir, startControlPlane } from './control-plane.js';
import { startGobgp } from './gobgp.js';
import { startNats } from './nats.js';
import { sweepStaleRigs } from './process.js';
import { startRedis } from './redis.js';

const SERVICES = [
  { name: 'watcher', port: 9101 },
  { name: 'ipam', port: 9102 },
  { name: 'route-publisher', port: 9103 },
  { name: 'node-agent', port: 9104 },
] as const;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function up(withServices: boolean): Promise<void> {
  sweepStaleRigs();
  const [nats, redis, gobgp, kube] = await Promise.all([startNats(), startRedis(), startGobgp(), startControlPlane()]);
  // Install Berth's API and the watcher's identity as an operator would (deploy/).
  await kube.kubectl(['apply', '-f', join(repo, 'deploy', 'crds')]);
  await kube.kubectl(['create', 'namespace', 'berth-system']);
  await kube.kubectl(['apply', '-f', join(repo, 'deploy', 'rbac')]);
  const env = {
    ...nats.env,
    ...redis.env,
    BERTH_GOBGP_TARGET: gobgp.target,
    BERTH_KUBECONFIG: await kube.serviceAccountKubeconfig('berth-system', 'berth-watcher'),
  };
  const children = withServices
    ? SERVICES.map(({ name, port }) => {
        const main = join(repo, 'services', name, 'dist', 'main.js');
        if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
        return spawn(process.execPath, [main], {
          env: { ...process.env, ...env, BERTH_HEALTH_HOST: '127.0.0.1', BERTH_HEALTH_PORT: String(port) },
          stdio: 'inherit',
        });
      })
    : [];
  const lines = [
    `kube-apiserver ${kube.version} at ${kube.server}, with Berth's CRDs and RBAC installed`,
    `  ${join(controlPlaneBinDir(), 'kubectl')} --kubeconfig ${kube.kubeconfig} get services,ippools -A`,
    `NATS (JetStream) at ${nats.url}, Redis at ${redis.host}:${redis.port}, gobgpd gRPC at ${gobgp.target}`,
    ...(withServices ? SERVICES.map((s) => `${s.name}: http://127.0.0.1:${s.port}/readyz  /metrics`) : []),
    '',
    'The environment for Berth processes:',
    ...Object.entries(env).map(([k, v]) => `  export ${k}=${v}`),
    '',
    withServices
      ? 'Apply an IPPool and a LoadBalancer Service with loadBalancerClass berth.dev/lb: it gets an EXTERNAL-IP.\n' +
        'Apply a BGPConfig "default" and a BGPPeer for routes (gobgp --target <gobgpd gRPC> global rib shows them); ARP/NDP answers come with node-agent.'
      : '',
    'Ctrl-C stops everything.',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  const stopAll = async (): Promise<void> => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))));
    await Promise.all([nats.stop(), redis.stop(), gobgp.stop(), kube.stop()]);
    process.exit(0);
  };
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.once('SIGINT', () => void stopAll());
  process.once('SIGTERM', () => void stopAll());
}

const [command, ...flags] = process.argv.slice(2);
if (command === 'up') {
  await up(flags.includes('--services'));
} else if (command === 'sweep') {
  for (const dir of sweepStaleRigs()) process.stdout.write(`removed ${dir}\n`);
} else {
  process.stderr.write('usage: berth-rig up [--services] | berth-rig sweep\n');
  process.exit(2);
}
