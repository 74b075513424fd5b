import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildBerthImages,
  makeBaseImages,
  prepareCompose,
  startDocker,
  type RigCompose,
  type RigDocker,
} from '@berth/rig';
import { ROOT } from './variables.js';

const SERVICES = ['gobgpd', 'ipam', 'nats', 'node-agent', 'redis', 'route-publisher', 'watcher'];

/** One line of `docker compose ps --format json`. */
interface ComposeContainer {
  Service: string;
  State: string;
  Health: string;
  ExitCode: number;
}

const parseLines = (out: string) =>
  out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ComposeContainer);

/** The IPv4 paths in the compose gobgpd's RIB, as prefix → next hops. */
async function rib(stack: RigCompose): Promise<Map<string, string[]>> {
  const out = await stack.gobgp('global', 'rib', '-a', 'ipv4', '-j');
  const table = JSON.parse(out.trim() === '' ? '{}' : out) as Record<
    string,
    { attrs: { type: number; nexthop?: string }[] }[]
  >;
  return new Map(
    Object.entries(table).map(([prefix, paths]) => [
      prefix,
      paths.flatMap((p) => p.attrs.flatMap((a) => (a.nexthop === undefined ? [] : [a.nexthop]))).sort(),
    ]),
  );
}

describe("docker compose: the repository's docker-compose.yml on the rig's Docker engine and cluster", () => {
  let docker: RigDocker;
  let stack: RigCompose;

  before(
    async () => {
      docker = await startDocker();
      const base = await makeBaseImages(docker);
      await buildBerthImages(docker, base);
      stack = await prepareCompose(docker, base);
    },
    { timeout: 1_800_000 },
  );
  after(async () => {
    try {
      await stack.stop();
    } finally {
      await docker.stop();
    }
  });

  it("docker compose config accepts the file with the README's .env, and names what is missing without it", async () => {
    const config = JSON.parse(await stack.compose(['config', '--format', 'json'])) as {
      services: Record<string, { image: string }>;
    };
    assert.deepEqual(Object.keys(config.services).sort(), SERVICES);
    assert.match(config.services['watcher']?.image ?? '', /^ghcr\.io\/berth-lb\/watcher:/);
    await assert.rejects(
      docker.docker(
        [
          'compose',
          '--project-directory',
          ROOT,
          '-f',
          join(ROOT, 'docker-compose.yml'),
          '--env-file',
          '/dev/null',
          'config',
        ],
        {
          cwd: ROOT,
        },
      ),
      /set BERTH_\w+ in \.env/,
    );
  });

  it('docker compose up: NATS, Redis, gobgpd and the four services all become healthy', async () => {
    await stack.compose(['up', '--detach', '--wait', '--wait-timeout', '180'], { timeoutMs: 240_000 });
    const containers = parseLines(await stack.compose(['ps', '--all', '--format', 'json']));
    assert.deepEqual(containers.map((c) => c.Service).sort(), SERVICES);
    for (const c of containers) assert.deepEqual([c.Service, c.State, c.Health], [c.Service, 'running', 'healthy']);
  });

  it('a Service applied to the cluster gets its EXTERNAL-IP, and its path reaches the compose gobgpd', async () => {
    await stack.kube.kubectl(['apply', '-f', join(ROOT, 'deploy', 'examples', 'service.yaml')]);
    let ip = '';
    for (let i = 0; i < 100 && ip === ''; i++) {
      if (i > 0) await sleep(100);
      ip = await stack.kube.kubectl(['get', 'service', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
    }
    assert.match(ip, /^203\.0\.113\.\d+$/, 'EXTERNAL-IP from the BGP pool');
    let paths = new Map<string, string[]>();
    for (let i = 0; i < 100 && !paths.has(`${ip}/32`); i++) {
      if (i > 0) await sleep(100);
      paths = await rib(stack);
    }
    // The Docker host is the one node, at its address on the engine's bridge.
    assert.deepEqual(paths.get(`${ip}/32`), [docker.hostAddress]);

    await stack.kube.kubectl(['delete', 'service', 'web', '--wait=true']);
    for (let i = 0; i < 100 && paths.has(`${ip}/32`); i++) {
      await sleep(100);
      paths = await rib(stack);
    }
    assert.equal(paths.has(`${ip}/32`), false, 'the path is withdrawn once the Service is gone');
  });

  it('docker compose stop: every container stops on SIGTERM within the grace period, exit 0', async () => {
    await stack.compose(['stop', '--timeout', '10']);
    const containers = parseLines(await stack.compose(['ps', '--all', '--format', 'json']));
    assert.equal(containers.length, SERVICES.length);
    for (const c of containers) assert.deepEqual([c.Service, c.State, c.ExitCode], [c.Service, 'exited', 0]);
  });

  it('docker compose down removes every container and network, keeps the named volumes until --volumes', async () => {
    const label = `label=com.docker.compose.project=${stack.project}`;
    const left = async () => ({
      containers: await docker.docker(['ps', '--all', '--quiet', '--filter', label]),
      networks: await docker.docker(['network', 'ls', '--quiet', '--filter', label]),
      volumes: (await docker.docker(['volume', 'ls', '--format', '{{.Name}}', '--filter', label]))
        .split('\n')
        .filter(Boolean)
        .sort(),
    });
    await stack.compose(['down']);
    assert.deepEqual(await left(), {
      containers: '',
      networks: '',
      volumes: ['gobgp-socket', 'nats-data', 'redis-data'].map((v) => `${stack.project}_${v}`),
    });
    await stack.compose(['down', '--volumes']);
    assert.deepEqual(await left(), { containers: '', networks: '', volumes: [] });
  });
});
