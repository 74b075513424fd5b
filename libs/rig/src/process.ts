import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RigError } from './errors.js';

/** A server the rig started, in its own process group, with its log in the rig's folder. */
export interface RigProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs` (0: SIGKILL at once); resolves when the whole group is gone. */
  stop(graceMs?: number): Promise<void>;
}

const RIG_PREFIX = 'berth-rig-';
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every group this process started, even when a test throws or the runner exits early. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child.pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of live) killGroup(child.pid, 'SIGKILL');
      process.exit(130);
    });
  }
}

/** Signals a process group; one already gone is no error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** The kernel's start time of `pid`, so a recycled pid is never mistaken for ours. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let swept = false;

/** A fresh folder for one rig instance, marked with its owner so a later sweep can clean up. */
export function makeRigDir(what: string, base = tmpdir()): string {
  // The first rig of a process first reaps what killed runs before it left behind.
  if (!swept) {
    swept = true;
    sweepStaleRigs();
  }
  const dir = mkdtempSync(join(base, `${RIG_PREFIX}${what}-`));
  writeFileSync(join(dir, 'owner'), `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`);
  return dir;
}

/** Stops the servers (in order), then removes their rig folders. */
export async function stopAndRemove(servers: readonly RigProcess[], dirs: readonly string[]): Promise<void> {
  for (const server of servers) await server.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes what earlier runs left behind when they were killed before they could clean up:
 * rig folders whose owner process is gone, and the process groups recorded in them.
 */
export function sweepStaleRigs(bases: readonly string[] = [tmpdir(), '/dev/shm']): string[] {
  const swept: string[] = [];
  for (const base of bases) {
    let names: string[];
    try {
      names = readdirSync(base).filter((n) => n.startsWith(RIG_PREFIX));
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(base, name);
      if (ownerAlive(dir)) continue;
      for (const file of safeList(dir).filter((f) => f.endsWith('.pid'))) {
        const [pid, start] = readFileSync(join(dir, file), 'utf8').trim().split(' ');
        const n = Number(pid);
        if (Number.isInteger(n) && n > 1 && start !== undefined && startTimeOf(n) === start) killGroup(n, 'SIGKILL');
      }
      // Network namespaces a lab created and links of the root namespace, one name per line.
      for (const ns of readLines(join(dir, 'netns'))) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      for (const link of readLines(join(dir, 'links'))) spawnSync('ip', ['link', 'del', link], { stdio: 'ignore' });
      // Processes that left the run's groups: a Docker engine's containers (by cgroup), its
      // containerd and shims (by a folder in their command line).
      for (const cgroup of readLines(join(dir, 'cgroups'))) {
        killCgroup(cgroup);
        // The killed processes take a moment to be reaped; a cgroup goes once it is empty.
        for (let attempt = 0; attempt < 40 && !removeCgroupSync(cgroup); attempt++) pause(50);
      }
      for (const text of readLines(join(dir, 'commands'))) killCommandsWith(text);
      for (const prefix of readLines(join(dir, 'mounts'))) unmountUnder(prefix);
      rmSync(dir, { recursive: true, force: true });
      swept.push(dir);
    }
  }
  return swept;
}

/** SIGKILLs every process in cgroup `path` and below it, in every hierarchy (cgroup v1's, or v2's one). */
export function killCgroup(path: string): void {
  for (const dir of cgroupDirs(path)) for (const pid of readLines(join(dir, 'cgroup.procs'))) killPid(Number(pid));
}

/** The folders of cgroup `path` and below it in every hierarchy, deepest first. */
function cgroupDirs(path: string): string[] {
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
    dirs.push(dir);
  };
  for (const hierarchy of safeList('/sys/fs/cgroup')) {
    const top = join('/sys/fs/cgroup', hierarchy, path);
    if (existsSync(join(top, 'cgroup.procs'))) walk(top);
  }
  if (existsSync(join('/sys/fs/cgroup', path, 'cgroup.procs'))) walk(join('/sys/fs/cgroup', path));
  return dirs;
}

/** Removes what of cgroup `path` is empty; true when nothing of it is left. */
export function removeCgroupSync(path: string): boolean {
  let left = false;
  for (const dir of cgroupDirs(path)) {
    try {
      rmdirSync(dir);
    } catch {
      left = true;
    }
  }
  return !left;
}

/** Removes cgroup `path` everywhere, waiting (a few seconds at most) for its killed processes to be gone. */
export async function removeCgroup(path: string): Promise<void> {
  for (let attempt = 0; attempt < 50 && !removeCgroupSync(path); attempt++) {
    killCgroup(path);
    await sleep(100);
  }
}

/** SIGKILLs every process whose command line contains `text`. */
export function killCommandsWith(text: string): void {
  for (const entry of safeList('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(join('/proc', entry, 'cmdline'), 'utf8').includes(text)) killPid(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Lazily unmounts every mount point at or below `prefix`, deepest first: what a killed engine left. */
export function unmountUnder(prefix: string): void {
  const points = readLines('/proc/mounts')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point === prefix || point.startsWith(`${prefix}/`));
  for (const point of points.sort((a, b) => b.length - a.length))
    spawnSync('umount', ['-l', point], { stdio: 'ignore' });
}

/** Blocks this thread for `ms`: the sweep runs synchronously, at exit too. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function killPid(pid: number): void {
  try {
    if (pid > 1) process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function ownerAlive(dir: string): boolean {
  try {
    const [pid, start] = readFileSync(join(dir, 'owner'), 'utf8').trim().split(' ');
    return startTimeOf(Number(pid)) === start;
  } catch {
    // No owner file yet: a rig being created right now. Leave it alone.
    return existsSync(dir);
  }
}

export interface SpawnOptions {
  readonly dir: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
}

/** Starts `command` in its own process group, logging to `<dir>/<name>.log`. */
export function spawnServer(name: string, command: string, args: readonly string[], options: SpawnOptions): RigProcess {
  installExitHook();
  const logFile = join(options.dir, `${name}.log`);
  const log = openSync(logFile, 'a');
  const [cmd, argv] =
    options.netns === undefined ? [command, args] : ['ip', ['netns', 'exec', options.netns, command, ...args]];
  const child = spawn(cmd, argv, {
    cwd: options.dir,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new RigError(`could not start ${command}`, 'RIG_SPAWN_FAILED');
  const pid = child.pid;
  live.add(child);
  writeFileSync(join(options.dir, `${name}.pid`), `${pid} ${startTimeOf(pid) ?? ''}\n`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      // The leader is gone; make sure nothing it forked lingers.
      killGroup(pid, 'SIGKILL');
      resolve(code ?? signal ?? 'unknown');
    });
  });
  child.once('error', () => undefined);
  return {
    name,
    pid,
    logFile,
    exited,
    async stop(graceMs = 5000) {
      if (!live.has(child)) return;
      killGroup(pid, graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last lines of a log, for error messages that say why a server did not come up. */
export async function tail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Polls `probe` until it returns a value; fails early, with the log's tail, if the process dies.
 */
export async function waitUntil<T>(
  server: RigProcess,
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  let dead: number | string | undefined;
  void server.exited.then((code) => (dead = code));
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (dead !== undefined) {
      throw new RigError(
        `${server.name} exited (${dead}) before ${what}:\n${await tail(server.logFile)}`,
        'RIG_SERVER_DIED',
      );
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  await server.stop();
  throw new RigError(
    `${server.name} did not reach "${what}" within ${timeoutMs} ms (last error: ${String(lastError)}):\n${await tail(server.logFile)}`,
    'RIG_SERVER_TIMEOUT',
  );
}
