import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, appendFileSync, constants, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, fromCache, PINNED } from './cache.js';
import { RigError } from './errors.js';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/**
 * Debian's docker CLI (docker.io), which builds with BuildKit by itself. A docker CLI elsewhere on
 * the PATH (/usr/local/bin on these machines) may be one without buildx, whose builds fail.
 */
export const DOCKER_CLI = '/usr/bin/docker';

/**
 * The engine's bridge in the root namespace, from 198.18.0.0/15 (reserved for test labs), and the
 * pool its networks take their subnets from. The bridge's address is where a container reaches a
 * server of this machine: the rig's API server binds there for Compose's watcher.
 */
const BRIDGE = { name: 'berth-rig0', address: '198.18.0.1', cidr: '198.18.0.1/24' } as const;
const ADDRESS_POOL = 'base=198.18.16.0/20,size=24';

/** The rig's own Docker engine: its socket, its bridge, its image store (cached between runs). */
export interface RigDocker {
  /** DOCKER_HOST, DOCKER_CONFIG (with the Compose plugin) and DOCKER for the docker CLI and scripts. */
  readonly env: Record<string, string>;
  /** This machine's address on the engine's bridge, reachable from every container. */
  readonly hostAddress: string;
  readonly process: RigProcess;
  /** Runs Debian's docker CLI against this engine and returns its stdout; rejects with its stderr. */
  docker(args: readonly string[], options?: { timeoutMs?: number; cwd?: string }): Promise<string>;
  /** Removes every container, network and volume, stops the engine and removes its bridge. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Where the engine keeps images and build cache: outside the repository, so layers survive runs. */
export function dockerDataRoot(): string {
  return join(cacheDir(), 'docker');
}

/**
 * Its runtime state, one folder per image store (short: containerd's socket paths are limited),
 * so that an engine started after a killed one finds that one's containers and removes them.
 */
function execRoot(dataRoot: string): string {
  return `/run/berth-rig-docker-${createHash('sha256').update(dataRoot).digest('hex').slice(0, 8)}`;
}

/**
 * Starts dockerd as root with its own socket, folders and bridge, never the machine's: no
 * iptables rules (nothing is added to the root namespace but the bridge and the networks' bridges,
 * all from 198.18.0.0/15), so builds that fetch packages use `--network host`.
 */
export async function startDocker(): Promise<RigDocker> {
  if (process.getuid?.() !== 0) throw new RigError("the rig's Docker engine needs root", 'RIG_NEEDS_ROOT');
  const dockerd = requireTool('dockerd');
  const ip = requireTool('ip');
  try {
    accessSync(DOCKER_CLI, constants.X_OK);
  } catch {
    throw new RigError(
      `${DOCKER_CLI} is missing: run ./scripts/setup as root, or apt-get install docker.io`,
      'RIG_MISSING_TOOL',
    );
  }
  const compose = fromCache(join(`compose-${PINNED.compose}`, 'cli-plugins'), `Docker Compose ${PINNED.compose}`);
  const dir = makeRigDir('docker');
  const config = join(dir, 'config');
  mkdirSync(config);
  symlinkSync(compose, join(config, 'cli-plugins'));
  const socket = join(dir, 'docker.sock');
  const env = {
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: config,
    DOCKER: DOCKER_CLI,
    DOCKER_BUILDKIT: '1',
    BUILDKIT_PROGRESS: 'plain',
  };
  const docker = async (args: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}) => {
    try {
      const { stdout } = await run(DOCKER_CLI, args, {
        env: { ...process.env, ...env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 2 ** 20,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      });
      return stdout;
    } catch (error) {
      const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
      throw new RigError(
        `docker ${args.join(' ')} failed: ${(stderr.trim() || stdout.trim()).slice(-4000) || String(error)}`,
        'RIG_COMMAND_FAILED',
      );
    }
  };
  // Recorded before it exists, so that the sweep of a killed run removes it.
  appendFileSync(join(dir, 'links'), `${BRIDGE.name}\n`);
  const bridge = (...args: string[]) => run(ip, args, { timeout: 10_000 });
  try {
    await bridge('link', 'add', BRIDGE.name, 'type', 'bridge');
  } catch (error) {
    await stopAndRemove([], [dir]);
    throw new RigError(
      `cannot create ${BRIDGE.name} (another rig's Docker engine running? \`npm run rig -- sweep\` removes a killed one's): ${String(error)}`,
      'RIG_SPAWN_FAILED',
    );
  }
  const removeBridge = () => bridge('link', 'del', BRIDGE.name).catch(() => undefined);
  let server: RigProcess | undefined;
  const clean = async () => {
    const containers = (await docker(['ps', '-aq'])).split('\n').filter(Boolean);
    if (containers.length > 0) await docker(['rm', '-f', '-v', ...containers]);
    await docker(['network', 'prune', '-f']);
    await docker(['volume', 'prune', '-f']);
  };
  const stop = async () => {
    if (server !== undefined) {
      await clean().catch(() => undefined);
      // Images replaced by newer builds under the same tags; the build cache stays.
      await docker(['image', 'prune', '-f']).catch(() => undefined);
      await server.stop(30_000);
      // dockerd leaves the root namespace bind-mounted there for its host network.
      await run('umount', [join(execRoot(dockerDataRoot()), 'netns', 'default')]).catch(() => undefined);
    }
    await removeBridge();
    await stopAndRemove([], [dir]);
  };
  try {
    await bridge('addr', 'add', BRIDGE.cidr, 'dev', BRIDGE.name);
    await bridge('link', 'set', BRIDGE.name, 'up');
    const daemonConfig = join(dir, 'daemon.json');
    // The build cache is bounded; the machine's /etc/docker/daemon.json is never read.
    writeFileSync(daemonConfig, JSON.stringify({ builder: { gc: { enabled: true, defaultKeepStorage: '20GB' } } }));
    mkdirSync(dockerDataRoot(), { recursive: true });
    server = spawnServer(
      'dockerd',
      dockerd,
      [
        `--config-file=${daemonConfig}`,
        `--data-root=${dockerDataRoot()}`,
        `--exec-root=${execRoot(dockerDataRoot())}`,
        `--pidfile=${join(dockerDataRoot(), 'dockerd.pid')}`,
        `--host=unix://${socket}`,
        `--bridge=${BRIDGE.name}`,
        `--default-address-pool=${ADDRESS_POOL}`,
        '--iptables=false',
        '--ip-masq=false',
        '--storage-driver=overlay2',
      ],
      { dir },
    );
    await waitUntil(server, 'answering', () => docker(['version', '--format', '{{.Server.Version}}']), 60_000);
    // What a killed run left: its containers, networks and volumes are no test's any more.
    await clean();
    return {
      env,
      hostAddress: BRIDGE.address,
      process: server,
      docker,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
