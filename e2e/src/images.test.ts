import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BERTH_IMAGES,
  berthImage,
  buildBerthImages,
  chartAppVersion,
  makeBaseImages,
  pinnedNodeVersion,
  startDocker,
  startRegistry,
  type BerthImageName,
  type RigBaseImages,
  type RigDocker,
} from '@berth/rig';
import { ROOT } from './variables.js';

const NODE_IMAGES = ['watcher', 'ipam', 'route-publisher', 'node-agent'] as const;
const HEALTH_PORTS = { watcher: 9101, ipam: 9102, 'route-publisher': 9103, 'node-agent': 9104 } as const;
/** The one capability each image's files carry, as `getcap` prints it. */
const FILE_CAPABILITIES: Record<BerthImageName, string[]> = {
  watcher: [],
  ipam: [],
  'route-publisher': [],
  'node-agent': ['/usr/local/bin/node cap_net_raw=ep'],
  gobgpd: ['/usr/bin/gobgpd cap_net_bind_service=ep'],
};
/**
 * How the chart and Compose run each image, beyond a read-only root and no capability: the one its
 * program needs to start at all, and gobgpd's socket folder, which is a volume there.
 */
const RUN_OPTIONS: Record<BerthImageName, string[]> = {
  watcher: ['--security-opt', 'no-new-privileges:true'],
  ipam: ['--security-opt', 'no-new-privileges:true'],
  'route-publisher': ['--security-opt', 'no-new-privileges:true'],
  'node-agent': ['--cap-add', 'NET_RAW'],
  gobgpd: ['--cap-add', 'NET_BIND_SERVICE', '--tmpfs', '/run/gobgp:uid=65532,gid=65532,mode=0750'],
};
/** `docker run` in the background with a read-only root, no network and no capability. */
const LOCKED_DOWN = ['run', '--detach', '--read-only', '--network', 'none', '--cap-drop', 'ALL'];
/** A client library only one service uses, by the service. */
const OWN_DEPENDENCY: Record<string, (typeof NODE_IMAGES)[number]> = {
  'node_modules/@kubernetes/client-node': 'watcher',
  'node_modules/ioredis': 'ipam',
  'node_modules/@grpc/grpc-js': 'route-publisher',
  'node_modules/node-addon-api': 'node-agent',
};
/** CAP_NET_RAW is bit 13: node-agent's process holds it and nothing else. */
const CAP_NET_RAW_ONLY = (1n << 13n).toString(16).padStart(16, '0');

/** Whether `command` succeeds in container `id` within 10 s, tried every 100 ms. */
async function succeedsIn(docker: RigDocker, id: string, command: readonly string[]): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const ok = await docker.docker(['exec', id, ...command]).then(
      () => true,
      () => false,
    );
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

/** Every package the lockfile installs for development only: none may be in an image. */
function devPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
    .map(([path]) => path);
}

describe("Berth's images, built from this checkout by scripts/images with the real docker build", () => {
  let docker: RigDocker;
  let base: RigBaseImages;
  let dir: string;
  const image = (name: BerthImageName) => berthImage(name);
  /** Runs a command in a fresh container of `name`'s image with no network. */
  const inImage = (name: BerthImageName, entrypoint: string, args: string[], options: string[] = []) =>
    docker.docker(['run', '--rm', '--network', 'none', ...options, '--entrypoint', entrypoint, image(name), ...args]);

  before(
    async () => {
      docker = await startDocker();
      dir = mkdtempSync(join(tmpdir(), 'berth-images-test-'));
      base = await makeBaseImages(docker);
      await buildBerthImages(docker, base);
    },
    { timeout: 1_800_000 },
  );
  after(async () => {
    await docker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as the non-root uid/gid 65532', async () => {
    for (const name of BERTH_IMAGES) {
      const user = await docker.docker(['image', 'inspect', '--format', '{{.Config.User}}', image(name)]);
      assert.equal(user.trim(), '65532:65532', name);
      assert.equal(
        (await inImage(name, 'id', [])).trim().split(' ')[0],
        `uid=65532(${name === 'gobgpd' ? 'gobgp' : 'berth'})`,
      );
    }
  });

  it('files carry only the one capability each program needs (getcap inside the image)', async () => {
    for (const name of BERTH_IMAGES) {
      // The host's getcap (same Debian release; libcap2 is in the image) run inside the image.
      const out = await inImage(
        name,
        'find',
        ['/', '-xdev', '-type', 'f', '-exec', '/usr/sbin/getcap', '{}', '+'],
        ['--user', '0', '-v', '/usr/sbin/getcap:/usr/sbin/getcap:ro'],
      );
      const found = out.split('\n').filter((line) => line !== '' && !line.startsWith('/usr/sbin/getcap'));
      assert.deepEqual(found, FILE_CAPABILITIES[name], name);
    }
  });

  it('has no setuid or setgid file, and no npm, npx, yarn or corepack', async () => {
    for (const name of BERTH_IMAGES) {
      const setid = await inImage(name, 'find', ['/', '-xdev', '-type', 'f', '-perm', '/6000'], ['--user', '0']);
      assert.equal(setid, '', `${name}: setuid/setgid files`);
      const tools = await inImage(name, 'sh', [
        '-c',
        'for c in npm npx yarn yarnpkg corepack; do command -v $c; done; ls -d /usr/local/lib/node_modules /opt/yarn* 2>/dev/null; true',
      ]);
      assert.equal(tools, '', `${name}: package managers`);
    }
  });

  it("runs the Node.js the project pins, with its own service's production dependencies only", async () => {
    const dev = devPackages();
    assert.ok(
      dev.includes('node_modules/typescript') && dev.includes('node_modules/fast-check'),
      'the lockfile names dev packages',
    );
    // Prints which of the given package folders exist under /app.
    const probe = `const fs = require('node:fs');
      console.log(JSON.stringify(JSON.parse(process.env.PACKAGES).filter((p) => fs.existsSync('/app/' + p))));`;
    for (const name of NODE_IMAGES) {
      assert.equal((await inImage(name, 'node', ['--version'])).trim(), `v${pinnedNodeVersion()}`, name);
      const packages = [...dev, ...Object.keys(OWN_DEPENDENCY)];
      const out = await inImage(name, 'node', ['-e', probe], ['-e', `PACKAGES=${JSON.stringify(packages)}`]);
      const present = JSON.parse(out) as string[];
      // Each service's own client library is in its image alone; no dev dependency is in any.
      const own = Object.entries(OWN_DEPENDENCY).flatMap(([path, service]) => (service === name ? [path] : []));
      assert.deepEqual(present, own, `${name}: packages in the image`);
    }
  });

  it('each service starts on a read-only root file system and stops cleanly on SIGTERM (exit 0, not 137)', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    // Nothing answers there: the watcher starts, stays unready and keeps retrying, like the others without a bus.
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'none', user: { token: 'none' } }],
        contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
        'current-context': 'none',
      }),
      { mode: 0o644 },
    );
    for (const name of BERTH_IMAGES) {
      const id = (
        await docker.docker([
          ...LOCKED_DOWN,
          ...RUN_OPTIONS[name],
          ...(name === 'watcher'
            ? ['-v', `${kubeconfig}:/etc/berth/kubeconfig:ro`, '-e', 'BERTH_KUBECONFIG=/etc/berth/kubeconfig']
            : []),
          image(name),
        ])
      ).trim();
      try {
        const alive =
          name === 'gobgpd'
            ? ['gobgp', '--target=unix:///run/gobgp/gobgp.sock', 'global']
            : [
                'node',
                '-e',
                `fetch('http://127.0.0.1:${HEALTH_PORTS[name]}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
              ];
        const answered = await succeedsIn(docker, id, alive);
        assert.ok(answered, `${name} answers on a read-only root:\n${await docker.docker(['logs', id]).catch(String)}`);
        await docker.docker(['stop', '--time', '10', id]);
        const state = await docker.docker(['inspect', '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}', id]);
        assert.equal(state.trim(), '0 false', `${name}: exit code after SIGTERM`);
      } finally {
        await docker.docker(['rm', '-f', id]).catch(() => undefined);
      }
    }
  });

  it('gobgpd killed with SIGKILL starts again in the same container, on the volume that kept its socket', async () => {
    const volume = `berth-gobgp-${process.pid}`;
    await docker.docker(['volume', 'create', volume]);
    const id = (
      await docker.docker([
        ...LOCKED_DOWN,
        '--cap-add',
        'NET_BIND_SERVICE',
        '-v',
        `${volume}:/run/gobgp`,
        image('gobgpd'),
      ])
    ).trim();
    const answers = () => succeedsIn(docker, id, ['gobgp', '--target=unix:///run/gobgp/gobgp.sock', 'global']);
    try {
      assert.ok(await answers(), 'gobgpd answers at first');
      await docker.docker(['kill', '--signal', 'KILL', id]);
      await docker.docker(['start', id]);
      assert.ok(await answers(), `gobgpd answers after SIGKILL:\n${await docker.docker(['logs', id]).catch(String)}`);
    } finally {
      await docker.docker(['rm', '-f', id]).catch(() => undefined);
      await docker.docker(['volume', 'rm', volume]).catch(() => undefined);
    }
  });

  it('scripts/images --push puts all five in a registry, as the chart pulls them', async () => {
    await using registry = await startRegistry();
    const at = `${registry.host}/berth`;
    await buildBerthImages(docker, base, { push: at });
    try {
      for (const name of BERTH_IMAGES) {
        assert.deepEqual(await registry.tags(`berth/${name}`), [chartAppVersion()], name);
        const id = await docker.docker(['image', 'inspect', '--format', '{{.Id}}', image(name)]);
        assert.equal(
          await registry.configDigest(`berth/${name}`, chartAppVersion()),
          id.trim(),
          `${name}: the image pushed`,
        );
      }
    } finally {
      // The registry's port is new each run: its tags would pile up in the cached image store.
      await docker.docker(['rmi', ...BERTH_IMAGES.map((name) => `${at}/${name}:${chartAppVersion()}`)]);
    }
  });

  it("node-agent's addon opens its raw sockets holding CAP_NET_RAW alone, and node does not start without it", async () => {
    // On the engine's bridge the container has an eth0 to open the sockets on; they only listen.
    const probe = `const { rawsock } = await import('/app/services/node-agent/dist/rawsock/addon.js');
      const arp = rawsock.openArp('eth0', () => {});
      const ndp = rawsock.openIcmp6('eth0', () => {});
      const caps = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8').match(/^Cap(Prm|Eff):.*$/gm);
      console.log(JSON.stringify({ ethernet: rawsock.interfaceInfo('eth0').ethernet, caps }));
      arp.close();
      ndp.close();`;
    const out = await docker.docker([
      'run',
      '--rm',
      '--read-only',
      '--cap-drop',
      'ALL',
      '--cap-add',
      'NET_RAW',
      '--entrypoint',
      'node',
      image('node-agent'),
      '--input-type=module',
      '-e',
      probe,
    ]);
    const { ethernet, caps } = JSON.parse(out) as { ethernet: boolean; caps: string[] };
    assert.equal(ethernet, true);
    assert.deepEqual(caps, [`CapPrm:\t${CAP_NET_RAW_ONLY}`, `CapEff:\t${CAP_NET_RAW_ONLY}`]);
    // Without NET_RAW in its bounding set, the kernel refuses to run a binary that carries it.
    await assert.rejects(
      docker.docker(['run', '--rm', '--network', 'none', '--cap-drop', 'ALL', image('node-agent')]),
      /operation not permitted/i,
    );
  });
});
