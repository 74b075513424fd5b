/**
 * node-agent in network namespaces: how long from SIGKILL of a VIP's owner until the client sees
 * the new owner's gratuitous ARP (over TRIALS kills), and how many ARP answers per second one
 * agent sends as the client asks faster and faster, with the CPU it spends doing so.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { L2Lab } from '@berth/node-agent/testing';
import { percentile, report, type Row } from './report.js';

const TRIALS = Number(process.env['BENCH_TRIALS'] ?? 20);
const RATES = [1_000, 5_000, 20_000, 50_000];
const SECONDS = 5;
const VIP = '192.0.2.100';

/** CPU seconds a process has used (user + system). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const lab = await L2Lab.start({ nodes: 3 });
try {
  await lab.service('web', [VIP]);
  for (const node of lab.nodes) lab.startAgent(node.name);
  const capture = await lab.capture();
  const failovers: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const owner = await lab.waitForOwner(VIP);
    const ownerMac = await lab.macOf(owner);
    // A kill at a random moment of the heartbeat cycle.
    await sleep(Math.random() * 200);
    const killedAt = Date.now() / 1000;
    await lab.kill(owner);
    let garp;
    for (let waited = 0; garp === undefined && waited < 100; waited++) {
      await sleep(50);
      garp = (await capture.frames()).find(
        (f) => f.kind === 'garp' && f.ip === VIP && f.t > killedAt && f.mac !== ownerMac,
      );
    }
    if (garp === undefined) throw new Error(`trial ${trial}: no gratuitous ARP within 5 s of killing ${owner}`);
    failovers.push((garp.t - killedAt) * 1000);
    console.log(
      `trial ${trial + 1}: ${owner} killed, ${(await lab.nodeWithMac(garp.from)) ?? '?'} announced after ${failovers.at(-1)?.toFixed(0)} ms`,
    );
    lab.startAgent(owner);
    await lab.waitForOwner(VIP);
    // Let the takeover's repeated announcements end, so the next trial sees only its own.
    await sleep(4500);
  }
  await capture.stop();
  await sleep(2000);

  const owner = await lab.waitForOwner(VIP);
  const pid = lab.agents.get(owner)?.child.pid ?? 0;
  const throughput: Row[] = [];
  for (const rate of RATES) {
    // 1 ms ticks: the offered rate is the batch per tick times 1,000 (setInterval permitting).
    const probe = await lab.probe([VIP], { intervalMs: 1, durationMs: SECONDS * 1000, batch: rate / 1000 });
    const cpu0 = cpuSeconds(pid);
    const started = performance.now();
    await sleep(SECONDS * 1000);
    const { sent, answers } = await probe.stop();
    const elapsed = (performance.now() - started) / 1000;
    const cpu = (cpuSeconds(pid) - cpu0) / elapsed;
    throughput.push(
      [`requests sent per second (asked: ${rate})`, Math.round(sent / SECONDS), '/s'],
      [`  answers received per second`, Math.round(answers / SECONDS), '/s'],
      [`  owner's agent CPU`, Math.round(cpu * 100), '% of a core'],
    );
  }
  failovers.sort((a, b) => a - b);
  report(
    'node-agent-failover',
    [
      [
        `failover, SIGKILL → new owner's gratuitous ARP at the client (${TRIALS} trials): p50`,
        percentile(failovers, 50).toFixed(0),
        'ms',
      ],
      ['failover p99', percentile(failovers, 99).toFixed(0), 'ms'],
      ['failover min', failovers[0]?.toFixed(0) ?? '', 'ms'],
      ['failover max', failovers.at(-1)?.toFixed(0) ?? '', 'ms'],
      ...throughput,
      ["owner's agent RSS after the load", rssMiB(pid).toFixed(0), 'MiB'],
    ],
    { trials: TRIALS, failoversMs: failovers, heartbeatIntervalMs: 100, healthTimeoutMs: 500, nodes: 3 },
  );
} finally {
  await lab.stop();
}
