import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, appendFileSync, constants, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, fromCache, PINNED } from './cache.js';
import { RigError } from './errors.js';
import {
  makeRigDir,
  removeCgroup,
  spawnServer,
  stopAndRemove,
  unmountUnder,
  waitUntil,
  type RigProcess,
} from './process.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/**
 * Debian's docker CLI (docker.io), which builds with BuildKit by itself. A docker CLI elsewhere on
 * the PATH (/usr/local/bin on these machines) may be one without buildx, whose builds fail.
 */
const DOCKER_CLI = '/usr/bin/docker';

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
 * The name of an image store's engine: its runtime folder (short, for containerd's socket paths)
 * and its containers' cgroup parent, so that a sweep finds what a killed engine left running and
 * an engine started later on the same store finds that one's containers.
 */
function engineName(dataRoot: string): string {
  return `berth-rig-docker-${createHash('sha256').update(dataRoot).digest('hex').slice(0, 8)}`;
}
const execRoot = (dataRoot: string) => `/run/${engineName(dataRoot)}`;

/** Debian's docker CLI against the engine of `env`: resolves with stdout, rejects with stderr. */
function dockerCli(env: Record<string, string>): RigDocker['docker'] {
  return async (args, options = {}) => {
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
}

/** Creates the engine's bridge, recorded in `dir` first so that the sweep of a killed run removes it; resolves with its remover. */
async function addBridge(dir: string): Promise<() => Promise<void>> {
  const ip = requireTool('ip');
  const sh = (...args: string[]) => run(ip, args, { timeout: 10_000 });
  appendFileSync(join(dir, 'links'), `${BRIDGE.name}\n`);
  try {
    await sh('link', 'add', BRIDGE.name, 'type', 'bridge');
  } catch (error) {
    throw new RigError(
      `cannot create ${BRIDGE.name} (another rig's Docker engine running? \`npm run rig -- sweep\` removes a killed one's): ${String(error)}`,
      'RIG_SPAWN_FAILED',
    );
  }
  const remove = () =>
    sh('link', 'del', BRIDGE.name).then(
      () => undefined,
      () => undefined,
    );
  try {
    await sh('addr', 'add', BRIDGE.cidr, 'dev', BRIDGE.name);
    await sh('link', 'set', BRIDGE.name, 'up');
    return remove;
  } catch (error) {
    await remove();
    throw error;
  }
}

/** dockerd's flags: its own folders, socket and bridge; no iptables, no machine-wide daemon.json. */
function dockerdArgs(dir: string, socket: string): string[] {
  const dataRoot = dockerDataRoot();
  mkdirSync(dataRoot, { recursive: true });
  const config = join(dir, 'daemon.json');
  // The build cache is bounded.
  writeFileSync(config, JSON.stringify({ builder: { gc: { enabled: true, defaultKeepStorage: '20GB' } } }));
  return [
    `--config-file=${config}`,
    `--data-root=${dataRoot}`,
    `--exec-root=${execRoot(dataRoot)}`,
    `--pidfile=${join(dataRoot, 'dockerd.pid')}`,
    `--host=unix://${socket}`,
    `--bridge=${BRIDGE.name}`,
    `--default-address-pool=${ADDRESS_POOL}`,
    `--cgroup-parent=/${engineName(dataRoot)}`,
    '--iptables=false',
    '--ip-masq=false',
    '--storage-driver=overlay2',
  ];
}

/**
 * Starts dockerd as root with its own socket, folders and bridge, never the machine's: no
 * iptables rules (nothing is added to the root namespace but the bridge and the networks' bridges,
 * all from 198.18.0.0/15), so builds that fetch packages use `--network host`.
 */
export async function startDocker(): Promise<RigDocker> {
  if (process.getuid?.() !== 0) throw new RigError("the rig's Docker engine needs root", 'RIG_NEEDS_ROOT');
  const dockerd = requireTool('dockerd');
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
  const docker = dockerCli(env);
  let removeBridge: (() => Promise<void>) | undefined;
  let server: RigProcess | undefined;
  /** What this engine holds but images and build cache: no test's once it stops. */
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
      // dockerd leaves the root namespace bind-mounted in its runtime folder, for its host network.
      unmountUnder(execRoot(dockerDataRoot()));
      await removeCgroup(engineName(dockerDataRoot()));
    }
    await removeBridge?.();
    await stopAndRemove([], [dir]);
  };
  try {
    // What the sweep of a killed run looks for, recorded before it exists.
    writeFileSync(join(dir, 'cgroups'), `${engineName(dockerDataRoot())}\n`);
    writeFileSync(join(dir, 'commands'), `${execRoot(dockerDataRoot())}/\n`);
    writeFileSync(join(dir, 'mounts'), `${dockerDataRoot()}\n${execRoot(dockerDataRoot())}\n`);
    removeBridge = await addBridge(dir);
    server = spawnServer('dockerd', dockerd, dockerdArgs(dir, socket), { dir });
    await waitUntil(server, 'answering', () => docker(['version', '--format', '{{.Server.Version}}']), 60_000);
    // What a killed run left behind.
    await clean();
    return { env, hostAddress: BRIDGE.address, process: server, docker, stop, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
