/**
 * Berth's images and Compose on the rig's Docker engine: how long each image takes to build with
 * an empty build cache, all five in a row from empty, again with nothing changed (a fresh clone of
 * the same commit) and after an edit of one service's source; each image's size; and, with
 * docker-compose.yml, the time from `docker compose up` to every service healthy, from a Service
 * applied to its EXTERNAL-IP and to its path in gobgpd, and to stop.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BERTH_IMAGES,
  berthImage,
  buildBerthImages,
  makeBaseImages,
  prepareCompose,
  startDocker,
  type BuildOptions,
} from '@berth/rig';
import { report, type Row } from './report.js';

const TRIALS = Number(process.env['BENCH_TRIALS'] ?? 3);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The value `work` resolves with, and the seconds it took. */
async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await work();
  return [value, (performance.now() - start) / 1000];
}
const seconds = async (work: () => Promise<unknown>) => (await timed(work))[1];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const docker = await startDocker();
const rows: Row[] = [];
const checkout = mkdtempSync(join(tmpdir(), 'berth-bench-checkout-'));
try {
  const [base, baseSeconds] = await timed(() => makeBaseImages(docker));
  rows.push(['base images (debian, node, nats, redis), from the cache', baseSeconds.toFixed(1), 's']);
  const build = (options: BuildOptions) => seconds(() => buildBerthImages(docker, base, options));
  // As on a machine that has only the base images: no build cache, and none of Berth's images,
  // whose layers the builder would otherwise reuse.
  const emptyCache = async () => {
    const ids = (await docker.docker(['images', '--quiet', '--filter', 'reference=ghcr.io/berth-lb/*'])).split('\n');
    const present = [...new Set(ids.filter(Boolean))];
    if (present.length > 0) await docker.docker(['rmi', '--force', ...present]);
    await docker.docker(['builder', 'prune', '--all', '--force']);
  };

  for (const name of BERTH_IMAGES) {
    await emptyCache();
    const s = await build({ images: [name] });
    rows.push([`${name}: build, empty build cache`, s.toFixed(1), 's']);
    console.log(`${name}: ${s.toFixed(1)} s from an empty build cache`);
  }
  await emptyCache();
  rows.push(['all five in a row, empty build cache', (await build({})).toFixed(1), 's']);
  rows.push(['all five again, nothing changed', (await build({})).toFixed(1), 's']);

  // A clean copy of this commit, one service's source edited: what a developer's rebuild costs.
  execFileSync('sh', ['-c', `git -C ${repo} archive HEAD | tar -x -C ${checkout}`]);
  await build({ checkout });
  appendFileSync(join(checkout, 'services', 'ipam', 'src', 'main.ts'), '\n// edited\n');
  rows.push(['all five after an edit of services/ipam/src', (await build({ checkout })).toFixed(1), 's']);
  await build({});

  for (const name of BERTH_IMAGES) {
    const bytes = Number(await docker.docker(['image', 'inspect', '--format', '{{.Size}}', berthImage(name)]));
    rows.push([`${name}: image size`, (bytes / 1e6).toFixed(1), 'MB']);
  }

  await using stack = await prepareCompose(docker, base);
  const up: number[] = [];
  const address: number[] = [];
  const path: number[] = [];
  const stop: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    up.push(
      await seconds(() => stack.compose(['up', '--detach', '--wait', '--wait-timeout', '180'], { timeoutMs: 240_000 })),
    );
    const applied = performance.now();
    await stack.kube.kubectl(['apply', '-f', join(repo, 'deploy', 'examples', 'service.yaml')]);
    let ip = '';
    while (ip === '') {
      await sleep(20);
      ip = await stack.kube.kubectl(['get', 'service', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
    }
    address.push(performance.now() - applied);
    for (let rib = ''; !rib.includes(`${ip}/32`);) {
      rib = await stack.gobgp('global', 'rib');
    }
    path.push(performance.now() - applied);
    await stack.kube.kubectl(['delete', 'service', 'web', '--wait=true']);
    stop.push(await seconds(() => stack.compose(['stop'])));
    await stack.compose(['down', '--volumes']);
    console.log(`compose trial ${trial + 1}: healthy after ${up.at(-1)?.toFixed(1)} s`);
  }
  rows.push(
    [`compose up → all 7 healthy (median of ${TRIALS})`, median(up).toFixed(1), 's'],
    ['Service applied → EXTERNAL-IP (median)', median(address).toFixed(0), 'ms'],
    ['Service applied → path in gobgpd (median, incl. docker exec)', median(path).toFixed(0), 'ms'],
    ['compose stop, all 7 (median)', median(stop).toFixed(1), 's'],
  );
} finally {
  rmSync(checkout, { recursive: true, force: true });
  await docker.stop();
}
report('images-compose', rows, { trials: TRIALS, cpus: cpus().length });
