import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { summarizeLayer2, type Layer2Answer, type Layer2Watcher } from '@berth/rig';

const PROBER = join(dirname(fileURLToPath(import.meta.url)), 'prober.js');
const INTERVAL_MS = 20;

/**
 * A layer-2 watch for the rig's fault runs: the prober in `netns` asks for every VIP on
 * `device` every 20 ms (ARP, and NDP from `source6` for IPv6) and reports each answer with the
 * answering MAC, for at most `maxMs`.
 */
export function layer2Watcher(
  netns: string,
  device: string,
  sources: { ipv4: string; ipv6: string },
  { maxMs = 300_000 } = {},
): Layer2Watcher {
  return async (vips) => {
    const args = [PROBER, device, String(INTERVAL_MS), String(maxMs), '1', sources.ipv4, sources.ipv6, ...vips];
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BERTH_PROBER_ANSWERS: '1' },
    });
    const answers: Layer2Answer[] = [];
    const lines = createInterface({ input: child.stdout });
    const probing = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line === 'probing') resolve();
        else if (line.startsWith('{"at"')) answers.push(JSON.parse(line) as Layer2Answer);
      });
      child.once('close', (code) => reject(new Error(`the prober exited with ${String(code)}`)));
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    await probing;
    const started = Date.now();
    return {
      async stop() {
        const stopped = Date.now();
        child.kill('SIGTERM');
        await exited;
        return summarizeLayer2(vips, answers, { started, stopped, intervalMs: INTERVAL_MS });
      },
    };
  };
}
