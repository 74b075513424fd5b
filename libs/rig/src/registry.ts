import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants } from 'node:fs';
import { fromCache, PINNED } from './cache.js';
import { makeRigDir, spawnServer, stopAndRemove, waitUntil, type RigProcess } from './process.js';

/** go-containerregistry's in-memory image registry, on loopback only, for `docker push` in tests. */
export interface RigRegistry {
  /** `localhost:PORT`: Docker pushes there over plain HTTP, as it does to any loopback registry. */
  readonly host: string;
  readonly process: RigProcess;
  /** The tags of `repository` (`berth/ipam`), from the registry's own API. */
  tags(repository: string): Promise<string[]>;
  /** The digest of the image configuration that `repository:tag`'s manifest names: the image's ID. */
  configDigest(repository: string, tag: string): Promise<string>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

export async function startRegistry(): Promise<RigRegistry> {
  const version = PINNED['go-containerregistry'];
  const binary = fromCache(
    join(`registry-${version}`, 'bin', 'registry'),
    `the test registry ${version}`,
    constants.X_OK,
  );
  const dir = makeRigDir('registry');
  const server = spawnServer('registry', binary, ['-port', '0'], { dir });
  const port = await waitUntil(
    server,
    'serving',
    async () => /serving on port (\d+)/.exec(await readFile(server.logFile, 'utf8'))?.[1],
    10_000,
  );
  const host = `localhost:${port}`;
  /** A field of the registry's JSON answer to `path`, or undefined when it is not there. */
  const field = async (path: string, name: string, accept = 'application/json'): Promise<unknown> => {
    const res = await fetch(`http://${host}/v2/${path}`, { headers: { accept } });
    if (!res.ok) throw new Error(`GET /v2/${path}: ${res.status} ${await res.text()}`);
    const body: unknown = await res.json();
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  };
  const stop = () => stopAndRemove([server], [dir]);
  return {
    host,
    process: server,
    async tags(repository) {
      const tags = await field(`${repository}/tags/list`, 'tags');
      return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
    },
    async configDigest(repository, tag) {
      const config = await field(`${repository}/manifests/${tag}`, 'config', MANIFEST_TYPES);
      const digest =
        typeof config === 'object' && config !== null ? (config as Record<string, unknown>)['digest'] : undefined;
      return typeof digest === 'string' ? digest : '';
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
