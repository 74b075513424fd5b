import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { sweepStaleRigs } from './index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('rig - reaping', () => {
  it('a later run removes the servers and folders of a test run that was SIGKILLed', async () => {
    // A stand-in test run: starts a server, reports it, then waits to be killed.
    const script = `
      const { startNats } = await import(${JSON.stringify(new URL('./index.js', import.meta.url).href)});
      const nats = await startNats();
      console.log(JSON.stringify({ pid: nats.process.pid, log: nats.process.logFile }));
      setInterval(() => {}, 1000);
    `;
    const run = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) => createInterface({ input: run.stdout }).once('line', resolve));
    const { pid, log } = JSON.parse(line) as { pid: number; log: string };
    run.kill('SIGKILL');
    await new Promise((resolve) => run.once('exit', resolve));

    // SIGKILL gives the run no chance to clean up: its server outlives it.
    assert.ok(alive(pid), 'the orphaned nats-server should still run');
    const removed = sweepStaleRigs();
    assert.ok(
      removed.some((dir) => log.startsWith(dir)),
      `swept ${removed.join(', ')}`,
    );
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(alive(pid), false, 'the orphaned nats-server is gone');
    assert.equal(existsSync(log), false);
  });
});
