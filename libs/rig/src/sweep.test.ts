import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerDataRoot, sweepStaleRigs } from './index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A stand-in test run: `body` runs with the rig as `rig` and ends by printing one JSON line; the
 * run is then SIGKILLed, which gives it no chance to clean up. Resolves with that line, parsed.
 */
async function killedRun<T>(body: string): Promise<T> {
  const script = `
    const rig = await import(${JSON.stringify(new URL('./index.js', import.meta.url).href)});
    ${body}
    setInterval(() => {}, 1000);
  `;
  const run = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: run.stdout }).once('line', resolve));
  run.kill('SIGKILL');
  await new Promise((resolve) => run.once('exit', resolve));
  return JSON.parse(line) as T;
}

describe('rig - reaping', () => {
  it('a later run removes the servers and folders of a test run that was SIGKILLed', async () => {
    const { pid, log } = await killedRun<{ pid: number; log: string }>(`
      const nats = await rig.startNats();
      console.log(JSON.stringify({ pid: nats.process.pid, log: nats.process.logFile }));
    `);
    assert.ok(alive(pid), 'the orphaned nats-server should still run');
    const removed = sweepStaleRigs();
    assert.ok(
      removed.some((dir) => log.startsWith(dir)),
      `swept ${removed.join(', ')}`,
    );
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false, 'the orphaned nats-server is gone');
    assert.equal(existsSync(log), false);
  });

  it("removes a SIGKILLed run's Docker engine, its containers' processes, its bridge and its mounts", async () => {
    const { dockerd, container } = await killedRun<{ dockerd: number; container: number }>(`
      const docker = await rig.startDocker();
      const base = await rig.makeBaseImages(docker);
      const id = (await docker.docker(['run', '--detach', '--network', 'none', base.debian, 'sleep', '600'])).trim();
      const pid = Number(await docker.docker(['inspect', '--format', '{{.State.Pid}}', id]));
      console.log(JSON.stringify({ dockerd: docker.process.pid, container: pid }));
    `);
    assert.ok(alive(dockerd) && alive(container), 'the engine and its container outlive the killed run');

    sweepStaleRigs();
    for (let i = 0; i < 100 && (alive(dockerd) || alive(container)); i++) await sleep(50);
    assert.equal(alive(dockerd), false, 'dockerd is gone');
    assert.equal(alive(container), false, "the container's process is gone");
    assert.equal(
      execFileSync('ip', ['-o', 'link', 'show']).toString().includes('berth-rig0'),
      false,
      'the bridge is gone',
    );
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '');
    const left = mounts.filter(
      (point) => point.startsWith(dockerDataRoot()) || point.startsWith('/run/berth-rig-docker'),
    );
    assert.deepEqual(left, [], "the engine's mounts are gone");
  });
});
