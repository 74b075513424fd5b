import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RigError } from './errors.js';

/** What the setup builds or fetches, at these versions (libs/rig/versions.json). */
export const PINNED = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'versions.json'), 'utf8'),
) as {
  readonly kubernetes: string;
  readonly helm: string;
  readonly 'compose-spec': string;
  readonly 'prometheus-operator': string;
  readonly compose: string;
  /** The Debian release of the rig's base images (and of the images' default bases). */
  readonly debian: string;
  readonly 'go-containerregistry': string;
  readonly coredns: string;
  readonly 'nats-server': string;
};

/** Where the setup keeps what it built or fetched: outside the repository, once per machine. */
export function cacheDir(): string {
  return process.env['BERTH_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'berth');
}

/** A file the setup put in the cache, or an error that says to run it. */
export function fromCache(path: string, what: string, mode = constants.R_OK): string {
  const file = join(cacheDir(), path);
  try {
    accessSync(file, mode);
    return file;
  } catch {
    throw new RigError(`${what} is not at ${file}: run ./scripts/setup`, 'RIG_NOT_BUILT');
  }
}

/** The Compose Specification's JSON Schema (from compose-go's Go module, fetched by the setup). */
export function composeSchemaFile(): string {
  const version = PINNED['compose-spec'];
  return fromCache(`compose-spec-${version}.json`, `the Compose Specification schema ${version}`);
}

/** nats-server as the setup built it from its Go module (Debian's 2.9 has no auth callout). */
export function natsServerBinary(): string {
  const version = PINNED['nats-server'];
  return fromCache(join(`nats-server-${version}`, 'bin', 'nats-server'), `nats-server ${version}`, constants.X_OK);
}

/** CoreDNS as the setup built it (the rig cluster's DNS, and a DNS server on loopback). */
export function corednsBinary(): string {
  return fromCache(join(`coredns-${PINNED.coredns}`, 'bin', 'coredns'), `CoreDNS ${PINNED.coredns}`, constants.X_OK);
}
