import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { constants } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, fromCache, PINNED } from './cache.js';
import { RigError } from './errors.js';
import { makeRigDir, spawnServer, stopAndRemove, tail, waitUntil, type RigProcess } from './process.js';
import { freePort, requireTool, secret } from './tools.js';

const run = promisify(execFile);

/** The Kubernetes version the rig builds and runs (libs/rig/versions.json). */
export const KUBERNETES_VERSION: string = PINNED.kubernetes;

/** Where the built kube-apiserver and kubectl live: outside the repository, once per machine. */
export function controlPlaneBinDir(): string {
  return join(cacheDir(), `kube-${KUBERNETES_VERSION}`, 'bin');
}

function requireBuilt(name: 'kube-apiserver' | 'kubectl'): string {
  return fromCache(join(`kube-${KUBERNETES_VERSION}`, 'bin', name), `${name} ${KUBERNETES_VERSION}`, constants.X_OK);
}

/** Users the rig's API server knows by bearer token. */
const RigUsers = {
  admin: { name: 'berth-admin', groups: ['system:masters'] },
  /** Authenticated, bound to nothing: RBAC refuses it everything but discovery. */
  unprivileged: { name: 'berth-unprivileged', groups: [] },
} as const;

/** etcd plus a real kube-apiserver on loopback, with a kubeconfig for each rig user. */
export interface RigControlPlane {
  readonly server: string;
  readonly version: string;
  /** PEM of the CA that signed the API server's certificate. */
  readonly caPem: string;
  readonly tokens: { readonly admin: string; readonly unprivileged: string };
  /** A kubeconfig whose current context is the admin; context `unprivileged` is the other user. */
  readonly kubeconfig: string;
  readonly processes: { readonly etcd: RigProcess; readonly apiserver: RigProcess };
  /** Runs this version's kubectl against the rig; throws with stderr when it fails. */
  kubectl(args: readonly string[], options?: { as?: 'admin' | 'unprivileged'; input?: string }): Promise<string>;
  /**
   * A kubeconfig for a ServiceAccount (which must exist), with a token from the TokenRequest API,
   * so a test runs with exactly the permissions RBAC binds to that account.
   */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** Stops and starts kube-apiserver alone, on the same port, data and credentials. */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function httpsGet(url: string, token: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, ca, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function startEtcd(dir: string): Promise<{ process: RigProcess; url: string; dataDir: string }> {
  const binary = requireTool('etcd');
  // Debian's etcd 3.4 has no --unsafe-no-fsync: keep its data in memory (/dev/shm) instead.
  const dataDir = makeRigDir('etcd', '/dev/shm');
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const etcd = spawnServer(
    'etcd',
    binary,
    [
      '--name=rig',
      `--data-dir=${join(dataDir, 'data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=rig=http://127.0.0.1:${peer}`,
      '--log-level=warn',
      '--logger=zap',
    ],
    { dir },
  );
  await waitUntil(
    etcd,
    'healthy',
    async () => {
      const res = await fetch(`${url}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true' ? true : undefined;
    },
    20_000,
  );
  return { process: etcd, url, dataDir };
}

export interface ControlPlaneOptions {
  /**
   * The address kube-apiserver listens on and is reached at, which its certificate names: a rig
   * Docker engine's `hostAddress` lets containers reach it.
   * @default '127.0.0.1'
   */
  readonly bindAddress?: string;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<RigControlPlane> {
  const address = options.bindAddress ?? '127.0.0.1';
  const apiserverBin = requireBuilt('kube-apiserver');
  const kubectlBin = requireBuilt('kubectl');
  const dir = makeRigDir('kube');
  const etcd = await startEtcd(dir);

  const tokens = { admin: secret(), unprivileged: secret() };
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(
    tokenFile,
    `${tokens.admin},${RigUsers.admin.name},${RigUsers.admin.name},"${RigUsers.admin.groups.join(',')}"\n` +
      `${tokens.unprivileged},${RigUsers.unprivileged.name},${RigUsers.unprivileged.name}\n`,
    { mode: 0o600 },
  );
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'sa.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'sa.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const port = await freePort(address);
  const server = `https://${address}:${port}`;
  const args = [
    `--etcd-servers=${etcd.url}`,
    `--cert-dir=${join(dir, 'pki')}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--secure-port=${port}`,
    // Dual-stack Service ranges from documentation prefixes; nothing is ever sent to them.
    '--service-cluster-ip-range=198.51.100.0/24,2001:db8:ffff::/112',
    '--authorization-mode=RBAC',
    `--token-auth-file=${tokenFile}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    '--endpoint-reconciler-type=none',
    '--v=1',
  ];
  let apiserver = spawnServer('kube-apiserver', apiserverBin, args, { dir });
  const caFile = join(dir, 'pki', 'apiserver.crt');

  const waitReady = async (proc: RigProcess): Promise<string> =>
    waitUntil(
      proc,
      'ready',
      async () => {
        // The self-signed bundle holds the serving certificate and the CA that signed it.
        const bundle = await readFile(caFile, 'utf8').catch(() => undefined);
        if (bundle === undefined) return undefined;
        const res = await httpsGet(`${server}/readyz`, tokens.admin, bundle);
        return res.status === 200 ? bundle : undefined;
      },
      60_000,
    );
  const caPem = await waitReady(apiserver);

  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    renderKubeconfig(server, caPem, [
      { name: 'admin', token: tokens.admin },
      { name: 'unprivileged', token: tokens.unprivileged },
    ]),
    { mode: 0o600 },
  );
  const version = (
    JSON.parse((await httpsGet(`${server}/version`, tokens.admin, caPem)).body) as { gitVersion: string }
  ).gitVersion;

  const kubectl = async (
    kargs: readonly string[],
    options: { as?: 'admin' | 'unprivileged'; input?: string } = {},
  ): Promise<string> => {
    const context = options.as === 'unprivileged' ? ['--context', 'unprivileged'] : [];
    const child = run(kubectlBin, ['--kubeconfig', kubeconfig, ...context, ...kargs], { timeout: 60_000 });
    if (options.input !== undefined) child.child.stdin?.end(options.input);
    try {
      return (await child).stdout;
    } catch (error) {
      // kubectl answers some questions (auth can-i) through its exit code, with the answer on stdout.
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `kubectl ${kargs.join(' ')} failed: ${[stdout.trim(), stderr.trim()].filter(Boolean).join('\n') || String(error)}`,
        {
          cause: error,
        },
      );
    }
  };
  const stop = () => stopAndRemove([apiserver, etcd.process], [dir, etcd.dataDir]);
  return {
    server,
    version,
    caPem,
    tokens,
    kubeconfig,
    get processes() {
      return { etcd: etcd.process, apiserver };
    },
    kubectl,
    async serviceAccountKubeconfig(namespace, name) {
      const token = (await kubectl(['create', 'token', name, '-n', namespace, '--duration=24h'])).trim();
      const path = join(dir, `kubeconfig-${namespace}-${name}`);
      await writeFile(path, renderKubeconfig(server, caPem, [{ name, token }]), { mode: 0o600 });
      return path;
    },
    async restartApiserver() {
      await apiserver.stop();
      apiserver = spawnServer('kube-apiserver', apiserverBin, args, { dir });
      await waitReady(apiserver).catch(async (error: unknown) => {
        throw new RigError(
          `kube-apiserver did not come back: ${String(error)}\n${await tail(apiserver.logFile)}`,
          'RIG_SERVER_DIED',
        );
      });
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A kubeconfig with one context per user; the first is current. */
function renderKubeconfig(server: string, caPem: string, users: readonly { name: string; token: string }[]): string {
  const ca = Buffer.from(caPem).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'rig', cluster: { server, 'certificate-authority-data': ca } }],
      users: users.map(({ name, token }) => ({ name, user: { token } })),
      contexts: users.map(({ name }) => ({ name, context: { cluster: 'rig', user: name } })),
      'current-context': users[0]?.name,
    },
    null,
    2,
  );
}
