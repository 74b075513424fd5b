import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** One JSON log line of a Berth process. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A Berth service started as its own process, with its log lines collected as they arrive. */
export interface BerthProcess {
  readonly child: ChildProcessByStdio<null, Readable, null>;
  readonly lines: LogLine[];
  /** The exit code, once the process has exited. */
  readonly exit: Promise<number | null>;
  /** Resolves with the first log line with this message, waiting up to `timeoutMs`. */
  logged(msg: string, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** The Berth processes still running, killed when the test process exits. */
const running = new Set<ChildProcessByStdio<null, Readable, null>>();
let exitHooked = false;

/**
 * Runs `main` (a built service's main.js) on this Node with only the given environment, inside
 * `netns` when given (`ip netns exec` execs, so the child's PID is Node's own). `echo` also gets
 * every log line, for a person watching.
 */
export function startBerthProcess(
  main: string,
  env: Record<string, string>,
  options: { netns?: string; echo?: NodeJS.WritableStream } = {},
): BerthProcess {
  const [command, args] =
    options.netns === undefined
      ? [process.execPath, [main]]
      : ['ip', ['netns', 'exec', options.netns, process.execPath, main]];
  const child = spawn(command, args, {
    env: { PATH: process.env['PATH'] ?? '', BERTH_HEALTH_HOST: '127.0.0.1', BERTH_HEALTH_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: LogLine[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as LogLine);
    options.echo?.write(`${line}\n`);
  });
  // 'close', not 'exit': it comes after stdout has ended, so the last log lines are in `lines`.
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  running.add(child);
  void exit.then(() => running.delete(child));
  if (!exitHooked) {
    exitHooked = true;
    // One listener for all: a stack starts more processes than Node's listener warning allows.
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  return {
    child,
    lines,
    exit,
    async logged(msg, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = lines.find((l) => l.msg === msg);
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no "${msg}" log line; saw: ${lines.map((l) => l.msg).join(' | ')}`);
        await sleep(20);
      }
    },
    stop() {
      child.kill('SIGTERM');
      return exit;
    },
  };
}
