import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { corednsBinary, fromCache, natsServerBinary, PINNED } from './cache.js';
import type { RigDocker } from './docker.js';
import { RigError } from './errors.js';
import { repoRoot } from './tools.js';

const run = promisify(execFile);
const rigImages = join(repoRoot, 'libs', 'rig', 'images');

/** Berth's images, as scripts/images builds them and the chart and Compose name them. */
export const BERTH_IMAGES = ['watcher', 'ipam', 'route-publisher', 'node-agent', 'gobgpd'] as const;
export type BerthImageName = (typeof BERTH_IMAGES)[number];

/** The tag scripts/images gives by default, which the chart and Compose use: the chart's appVersion. */
export function chartAppVersion(): string {
  const chart = readFileSync(join(repoRoot, 'deploy', 'helm', 'berth', 'Chart.yaml'), 'utf8');
  const version = /^appVersion:\s*['"]?([^'"\s]+)['"]?\s*$/m.exec(chart)?.[1];
  if (version === undefined) throw new RigError('deploy/helm/berth/Chart.yaml has no appVersion', 'RIG_NOT_BUILT');
  return version;
}

/** What scripts/images tags an image as, by default. */
export function berthImage(name: BerthImageName, tag = chartAppVersion()): string {
  return `ghcr.io/berth-lb/${name}:${tag}`;
}

/** The Node.js version the project pins: its `node` devDependency, as the lockfile resolved it. */
export function pinnedNodeVersion(): string {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string }>;
  };
  const version = lock.packages?.['node_modules/node']?.version;
  if (version === undefined) throw new RigError('package-lock.json has no node devDependency', 'RIG_NOT_BUILT');
  return version;
}

/**
 * The images the rig makes for itself where a user pulls Docker Hub's, named as the rig's own:
 * no registry can be reached here. Each is what a Dockerfile's or Compose's variable takes.
 */
export interface RigBaseImages {
  /** Debian from Debian's packages (debootstrap), for DEBIAN_IMAGE. */
  readonly debian: string;
  /** That Debian with the pinned Node.js and its npm, for NODE_IMAGE. */
  readonly node: string;
  /** nats-server as the setup built it, for Compose's BERTH_NATS_IMAGE and the chart's nats.image. */
  readonly nats: string;
  /** Debian's redis-server, for Compose's BERTH_REDIS_IMAGE. */
  readonly redis: string;
}

/**
 * Makes the rig's base images in `docker` from what the setup put in the cache: imports the
 * Debian root file system when the image is missing or older than the tarball, then builds the
 * others (from the layer cache, in seconds, when nothing changed).
 */
export async function makeBaseImages(docker: RigDocker): Promise<RigBaseImages> {
  const release = PINNED.debian;
  const rootfs = fromCache(join(`debian-${release}`, 'rootfs.tar'), `the Debian ${release} root file system`);
  const node = pinnedNodeVersion();
  const nodeParts = fromCache(`node-${node}`, `Node.js ${node} for the base image`);
  const images: RigBaseImages = {
    debian: `berth-rig/debian:${release}`,
    node: `berth-rig/node:${node}-${release}`,
    nats: `berth-rig/nats:${PINNED['nats-server']}`,
    redis: `berth-rig/redis:${release}`,
  };
  // The tarball's size and time say which one an image was imported from.
  const { size, mtimeMs } = statSync(rootfs);
  const source = `${size}-${Math.trunc(mtimeMs)}`;
  const imported = await docker
    .docker(['image', 'inspect', '--format', '{{index .Config.Labels "dev.berth.rig.rootfs"}}', images.debian])
    .then(
      (label) => label.trim(),
      () => '',
    );
  if (imported !== source) {
    await docker.docker([
      'import',
      '--change',
      `LABEL dev.berth.rig.rootfs=${source}`,
      '--change',
      'CMD ["bash"]',
      rootfs,
      images.debian,
    ]);
  }
  const build = (name: keyof RigBaseImages, context: string) =>
    buildRigImage(docker, { debian: images.debian }, name, images[name], context);
  await build('node', nodeParts);
  await build('nats', dirname(natsServerBinary()));
  await build('redis', join(rigImages, 'redis'));
  return images;
}

/** Builds `libs/rig/images/<dockerfile>` as `tag` from `context`, with the base images as build arguments. */
async function buildRigImage(
  docker: RigDocker,
  base: Pick<RigBaseImages, 'debian'> & Partial<RigBaseImages>,
  dockerfile: string,
  tag: string,
  context: string,
): Promise<void> {
  await docker.docker(
    [
      'build',
      '--network',
      'host',
      '--build-arg',
      `DEBIAN_IMAGE=${base.debian}`,
      ...(base.node === undefined ? [] : ['--build-arg', `NODE_IMAGE=${base.node}`]),
      '-f',
      join(rigImages, dockerfile, 'Dockerfile'),
      '-t',
      tag,
      context,
    ],
    { timeoutMs: 600_000 },
  );
}

/** The images a rig cluster runs besides Berth's: its pods' sandbox, its DNS and a test workload. */
export interface RigClusterImages {
  readonly pause: string;
  readonly coredns: string;
  /** An HTTP server on port 8080 that answers with its pod's name. */
  readonly echo: string;
}

/** Builds the cluster's own images on the rig's bases (CoreDNS from the binary the setup built). */
export async function makeClusterImages(docker: RigDocker, base: RigBaseImages): Promise<RigClusterImages> {
  const coredns = dirname(corednsBinary());
  const images: RigClusterImages = {
    pause: `berth-rig/pause:${PINNED.debian}`,
    coredns: `berth-rig/coredns:${PINNED.coredns}`,
    echo: `berth-rig/echo:${PINNED.debian}`,
  };
  await buildRigImage(docker, base, 'pause', images.pause, join(rigImages, 'pause'));
  await buildRigImage(docker, base, 'coredns', images.coredns, coredns);
  await buildRigImage(docker, base, 'echo', images.echo, join(rigImages, 'echo'));
  return images;
}

/** Writes `images` to `file` as one docker-archive tarball (layers they share, once), for `ctr images import`. */
export async function saveImages(docker: RigDocker, images: readonly string[], file: string): Promise<void> {
  await docker.docker(['save', '-o', file, ...images], { timeoutMs: 600_000 });
}

/** The CA bundle this machine's npm trusts beyond Node's own, when it has one (a TLS-inspecting proxy's). */
function extraCaFile(): string | undefined {
  for (const file of [process.env['NODE_EXTRA_CA_CERTS'], process.env['npm_config_cafile']]) {
    if (file !== undefined && file !== '' && existsSync(file)) return file;
  }
  return undefined;
}

export interface BuildOptions {
  /** @default every image */
  readonly images?: readonly BerthImageName[];
  /** @default the chart's appVersion */
  readonly tag?: string;
  /** `--push REGISTRY` of scripts/images. */
  readonly push?: string;
  /** A checkout to build from, with its own scripts/images. @default this repository */
  readonly checkout?: string;
}

/**
 * Builds Berth's images with scripts/images, as an operator would, on the rig's bases: the
 * Dockerfiles unchanged, their base images given as build arguments, packages fetched over the
 * host's network (the engine has no NAT), this machine's extra CA given as the build secret `ca`.
 */
export async function buildBerthImages(
  docker: RigDocker,
  base: RigBaseImages,
  options: BuildOptions = {},
): Promise<void> {
  const ca = extraCaFile();
  const args = [
    ...(options.tag === undefined ? [] : ['--tag', options.tag]),
    ...(options.push === undefined ? [] : ['--push', options.push]),
    ...(options.images ?? []),
    '--',
    '--network',
    'host',
    '--build-arg',
    `NODE_IMAGE=${base.node}`,
    '--build-arg',
    `DEBIAN_IMAGE=${base.debian}`,
    ...(ca === undefined ? [] : ['--secret', `id=ca,src=${ca}`]),
  ];
  try {
    const checkout = options.checkout ?? repoRoot;
    await run(join(checkout, 'scripts', 'images'), args, {
      cwd: checkout,
      env: { ...process.env, ...docker.env },
      timeout: 1_800_000,
      maxBuffer: 256 * 2 ** 20,
    });
  } catch (error) {
    const { stderr = '' } = error as { stderr?: string };
    throw new RigError(`scripts/images ${args.join(' ')} failed:\n${stderr.slice(-6000)}`, 'RIG_COMMAND_FAILED');
  }
}
