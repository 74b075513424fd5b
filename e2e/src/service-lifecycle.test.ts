import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startNats, type RigNats } from '@berth/rig';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = ['watcher', 'ipam', 'route-publisher', 'node-agent'] as const;

type LogLine = Record<string, unknown> & { msg?: string };

/** A service started as its own process, with its JSON log lines collected as they arrive. */
function launch(
  service: string,
  env: Record<string, string>,
): { child: ChildProcessByStdio<null, Readable, null>; lines: LogLine[]; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [join(root, 'services', service, 'dist', 'main.js')], {
    env: { PATH: process.env['PATH'] ?? '', BERTH_HEALTH_HOST: '127.0.0.1', BERTH_HEALTH_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: LogLine[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as LogLine));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  after(() => child.kill('SIGKILL'));
  return { child, lines, exit };
}

async function logged(lines: LogLine[], msg: string, timeoutMs = 15_000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = lines.find((l) => l.msg === msg);
    if (line !== undefined) return line;
    if (Date.now() > deadline) assert.fail(`no "${msg}" log line; saw: ${lines.map((l) => l.msg).join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('services - lifecycle as real processes', () => {
  let nats: RigNats;
  before(async () => (nats = await startNats()));
  after(() => nats.stop());

  for (const service of SERVICES) {
    it(`${service} serves health, readiness and metrics, logs JSON, and exits 0 on SIGTERM`, async () => {
      const { child, lines, exit } = launch(service, nats.env);
      const { port } = (await logged(lines, 'health server listening')) as { port: number };
      await logged(lines, 'started');
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const prefix = `berth_${service.replace('-', '_')}_`;
      assert.match(metrics, new RegExp(`^${prefix}process_cpu_user_seconds_total\\{component="${service}"\\} `, 'm'));
      assert.ok(lines.every((l) => l['component'] === service && typeof l['time'] === 'string'));

      child.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.equal(lines.at(-1)?.msg, 'stopped');
    });
  }

  it('reaches a NATS that demands TLS client certificates, from its environment alone', async (t) => {
    const secure = await startNats({ tls: true });
    t.after(() => secure.stop());
    const { child, lines, exit } = launch('node-agent', secure.env);
    await logged(lines, 'started');
    assert.equal((await logged(lines, 'connected to NATS'))['server'], new URL(secure.url).host);
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  });

  it('reports unready with the reason while NATS cannot be reached, and still stops cleanly', async () => {
    const { child, lines, exit } = launch('ipam', { BERTH_NATS_SERVERS: 'nats://127.0.0.1:1' });
    const { port } = (await logged(lines, 'health server listening')) as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /bus: connecting to NATS/);
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  });

  it('refuses to start on bad configuration, naming every bad variable, with exit code 2', async () => {
    const { lines, exit } = launch('route-publisher', { BERTH_HEALTH_PORT: 'http', BERTH_LOG_LEVEL: 'loud' });
    assert.equal(await exit, 2);
    const fatal = lines.find((l) => l['level'] === 'fatal');
    assert.deepEqual(fatal?.['problems'], [
      'BERTH_LOG_LEVEL="loud" is not valid: it must be one of fatal, error, warn, info, debug, trace, silent',
      'BERTH_HEALTH_PORT="http" is not valid: it must be an integer from 0 to 65535',
    ]);
  });
});
