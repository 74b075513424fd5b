import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/** PEM files of a throwaway CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface RigCertificates {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** A certificate and its key, as PEM files. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

const openssl = (dir: string, ...args: string[]) => run(requireTool('openssl'), args, { cwd: dir });
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA in `dir` (`<name>.crt`, `<name>.key`), valid for `days`. */
export async function makeCa(dir: string, name = 'ca', days = 1): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(
    dir,
    'req',
    '-x509',
    ...newKey,
    '-days',
    String(days),
    '-subj',
    `/CN=berth-rig-${name}`,
    '-keyout',
    pair.key,
    '-out',
    pair.cert,
  );
  return pair;
}

/**
 * A certificate signed by `ca` in `dir` (`<name>.crt`, `<name>.key`) for `subject`
 * (`/CN=…/O=…`) with these X.509 v3 `extensions` (openssl's extfile lines).
 */
export async function issueCertificate(
  dir: string,
  ca: KeyPair,
  name: string,
  subject: string,
  extensions: string,
  days = 1,
): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl(dir, 'req', ...newKey, '-subj', subject, '-keyout', pair.key, '-out', csr);
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    // A random serial of its own: a shared serial file races when nodes are issued at once.
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    String(days),
    '-extfile',
    ext,
    '-out',
    pair.cert,
  );
  return pair;
}

/** Makes a CA and certificates signed by it in `dir`, with openssl (valid one day). */
export async function makeCertificates(dir: string): Promise<RigCertificates> {
  const ca = await makeCa(dir);
  const server = await issueCertificate(
    dir,
    ca,
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const client = await issueCertificate(dir, ca, 'client', '/CN=berth-client', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
  };
}
