import { chmodSync, chownSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installBerthApi, registerNode, watcherKubeconfig } from './cluster.js';
import { startControlPlane, type RigControlPlane } from './control-plane.js';
import type { RigDocker } from './docker.js';
import type { RigBaseImages } from './images.js';
import { makeRigDir, stopAndRemove } from './process.js';
import { freePort, repoRoot, secret } from './tools.js';

/** The Kubernetes node the Docker host is, as Compose's node-agent and route-publisher see it. */
const COMPOSE_NODE = 'compose-host';

/** The repository's docker-compose.yml, run by the rig's engine against the rig's own cluster. */
export interface RigCompose {
  /** The Compose project: every container, network and volume carries its label. */
  readonly project: string;
  /** The `.env` the README describes, pointed at the rig's kube-apiserver and images. */
  readonly envFile: string;
  readonly kube: RigControlPlane;
  /** `docker compose` on the repository's file with this project and `.env`; returns stdout. */
  compose(args: readonly string[], options?: { timeoutMs?: number }): Promise<string>;
  /** The `gobgp` CLI inside the compose gobgpd, on its API socket; returns stdout. */
  gobgp(...args: string[]): Promise<string>;
  /** `docker compose down --volumes`, then the cluster. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A cluster for Compose, as the README's reader has one: a kube-apiserver that containers reach
 * (on the engine's bridge), Berth's CRDs and namespace, the watcher's RBAC with a kubeconfig for
 * its account (readable by the images' uid 65532), the Docker host registered as a Ready node, a
 * BGP pool and a BGPConfig. Then the `.env`: its passwords, a free NATS port (this machine may
 * run a NATS of its own on 4222) and the rig's NATS and Redis images.
 */
export async function prepareCompose(docker: RigDocker, base: RigBaseImages): Promise<RigCompose> {
  const dir = makeRigDir('compose');
  const project = dir
    .slice(dir.lastIndexOf('/') + 1)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '');
  const envFile = join(dir, '.env');
  const kube = await startControlPlane({ bindAddress: docker.hostAddress });
  const compose = (args: readonly string[], options: { timeoutMs?: number } = {}) =>
    docker.docker(
      [
        'compose',
        '--project-name',
        project,
        '--env-file',
        envFile,
        '-f',
        join(repoRoot, 'docker-compose.yml'),
        ...args,
      ],
      {
        cwd: repoRoot,
        timeoutMs: options.timeoutMs ?? 300_000,
      },
    );
  const stop = async () => {
    await compose(['down', '--volumes', '--timeout', '20']).catch(() => undefined);
    await kube.stop();
    await stopAndRemove([], [dir]);
  };
  try {
    await installBerthApi((args, input) => kube.kubectl(args, input === undefined ? {} : { input }));
    const kubeconfig = join(dir, 'kubeconfig');
    copyFileSync(await watcherKubeconfig(kube), kubeconfig);
    // The images run as uid/gid 65532, which must read the file Compose mounts, as the README says.
    chownSync(kubeconfig, 0, 65532);
    chmodSync(kubeconfig, 0o640);
    await registerNode(kube, { name: COMPOSE_NODE, ipv4: docker.hostAddress });
    await kube.kubectl(['apply', '-f', join(repoRoot, 'deploy', 'examples', 'bgpconfig.yaml')]);
    // gobgpd shares this machine's own network namespace (host network): no BGP port there.
    await kube.kubectl(['patch', 'bgpconfig', 'default', '--type=merge', '-p', '{"spec":{"listenPort":-1}}']);
    await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'IPPool',
        metadata: { name: 'default' },
        spec: { addresses: ['203.0.113.0/24'], mode: 'bgp', avoidBuggyIPs: true },
      }),
    });
    writeFileSync(
      envFile,
      [
        `BERTH_KUBECONFIG_FILE=${kubeconfig}`,
        `BERTH_NODE_NAME=${COMPOSE_NODE}`,
        `BERTH_NATS_PASSWORD=${secret()}`,
        `BERTH_REDIS_PASSWORD=${secret()}`,
        `BERTH_NATS_PORT=${await freePort()}`,
        `BERTH_NATS_IMAGE=${base.nats}`,
        `BERTH_REDIS_IMAGE=${base.redis}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const gobgp = (...args: string[]) =>
      compose(['exec', '-T', 'gobgpd', 'gobgp', '--target=unix:///run/gobgp/gobgp.sock', ...args]);
    return { project, envFile, kube, compose, gobgp, stop, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
