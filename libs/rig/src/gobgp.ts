import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);
const GOBGPD_START = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'deploy',
  'images',
  'gobgpd',
  'gobgpd-start',
);

/**
 * A private gobgpd whose gRPC API (which has no authentication) listens only on a Unix socket in
 * the rig's folder, reachable from any network namespace through the file system.
 */
export interface RigGobgp {
  /** The gRPC target, `unix:///…/gobgp.sock`. */
  readonly target: string;
  readonly process: RigProcess;
  /** Runs the `gobgp` CLI against this daemon and returns its standard output. */
  cli(...args: string[]): Promise<string>;
  /** SIGKILLs the daemon, as a crash would. */
  kill(): Promise<void>;
  /** Starts a fresh daemon (no peers, no paths) on the same socket, with the same command. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startGobgp(options: { netns?: string } = {}): Promise<RigGobgp> {
  const daemon = requireTool('gobgpd');
  const client = requireTool('gobgp');
  const dir = makeRigDir('gobgp');
  const socket = join(dir, 'gobgp.sock');
  const target = `unix://${socket}`;
  const cli = async (...args: string[]) =>
    (await run(client, ['--target', target, ...args], { timeout: 10_000 })).stdout;
  // The image's own start script, so a restart after SIGKILL is tested as the chart and Compose
  // run it: with the same command, on the socket the killed daemon left behind.
  const env = { ...process.env, PATH: [dirname(daemon), dirname(client), process.env['PATH'] ?? ''].join(':') };
  const launch = async () => {
    const server = spawnServer(
      'gobgpd',
      GOBGPD_START,
      [`--api-hosts=${target}`, '--pprof-disable', '--log-level=info'],
      { dir, env, ...(options.netns === undefined ? {} : { netns: options.netns }) },
    );
    await waitUntil(server, 'answering gRPC', () => cli('global').then(() => true), 10_000);
    return server;
  };
  let server = await launch();
  const stop = () => stopAndRemove([server], [dir]);
  return {
    target,
    get process() {
      return server;
    },
    cli,
    kill: () => server.stop(0),
    async restart() {
      await server.stop();
      server = await launch();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
