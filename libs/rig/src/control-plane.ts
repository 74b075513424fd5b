import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheDir, fromCache, PINNED } from './cache.js';
import { RigError } from './errors.js';
import type { LabHost } from './lab.js';
import { makeRigDir, spawnServer, stopAndRemove, tail, waitUntil, type RigProcess } from './process.js';
import { issueCertificate, makeCa, type KeyPair } from './tls.js';
import { freePort, requireTool, secret } from './tools.js';

const run = promisify(execFile);

/** The Kubernetes version the rig builds and runs (libs/rig/versions.json). */
export const KUBERNETES_VERSION: string = PINNED.kubernetes;

/** Where the built kube-apiserver and kubectl live: outside the repository, once per machine. */
export function controlPlaneBinDir(): string {
  return join(cacheDir(), `kube-${KUBERNETES_VERSION}`, 'bin');
}

/** The Kubernetes binaries the setup builds (libs/rig/scripts/build-control-plane.sh). */
export type KubeBinary =
  'kube-apiserver' | 'kubectl' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet' | 'kube-proxy';

export function requireBuilt(name: KubeBinary): string {
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

/**
 * The control plane of a cluster with kubelets: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler inside a lab host, served at its LAN address on port 6443 with a certificate of
 * the cluster's CA (which pods trust), and reached from this machine through a forwarded port.
 */
export interface RigClusterControlPlane extends RigControlPlane {
  /** Where kubelets and pods reach the API server: `https://<host's IPv4>:6443`. */
  readonly clusterServer: string;
  /** The cluster's CA: it signed the API server's, the kubelets' and the API server's client certificates. */
  readonly ca: KeyPair;
  /** A kubeconfig reaching `clusterServer` as one of the cluster users given to startClusterControlPlane. */
  kubeconfigFor(user: string): string;
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

/**
 * etcd on loopback, of this machine or of a lab host's namespace (`netns`), where the standard
 * ports are free and kube-apiserver's readiness says whether etcd is healthy.
 */
async function startEtcd(dir: string, netns?: string): Promise<{ process: RigProcess; url: string; dataDir: string }> {
  const binary = requireTool('etcd');
  // Debian's etcd 3.4 has no --unsafe-no-fsync: keep its data in memory (/dev/shm) instead.
  const dataDir = makeRigDir('etcd', '/dev/shm');
  const [client, peer] = netns === undefined ? [await freePort(), await freePort()] : [2379, 2380];
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
    { dir, ...(netns === undefined ? {} : { netns }) },
  );
  if (netns !== undefined) return { process: etcd, url, dataDir };
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
  const dir = makeRigDir('kube');
  const port = await freePort(address);
  return launch({
    dir,
    server: `https://${address}:${port}`,
    users: [],
    // The API server's own self-signed bundle: its serving certificate and the CA that signed it.
    caFile: join(dir, 'pki', 'apiserver.crt'),
    args: [
      `--cert-dir=${join(dir, 'pki')}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${port}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
    ],
  });
}

/** The cluster's Service ranges: documentation prefixes, routed nowhere but inside the nodes. */
const CLUSTER_SERVICE_RANGES = ['198.51.100.0/24', '2001:db8:ffff::/112'] as const;
const API_PORT = 6443;

/**
 * A cluster's control plane inside `host` (a lab host), for kubelets on the lab's other hosts.
 * `users` are given tokens (`kubeconfigFor`): the nodes' `system:node:<name>` (group
 * `system:nodes`), kube-proxy's `system:kube-proxy`, and those the controllers run as.
 */
export async function startClusterControlPlane(
  host: LabHost,
  users: readonly { name: string; groups: readonly string[] }[],
): Promise<RigClusterControlPlane> {
  const dir = makeRigDir('kube');
  const pki = join(dir, 'pki');
  await mkdir(pki);
  const ca = await makeCa(pki, 'ca', 7);
  const service = '198.51.100.1';
  const serving = await issueCertificate(
    pki,
    ca,
    'apiserver',
    '/CN=kube-apiserver',
    `subjectAltName=IP:${host.ipv4},IP:127.0.0.1,IP:${service},DNS:kubernetes,DNS:kubernetes.default,` +
      'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n',
    7,
  );
  const kubeletClient = await issueCertificate(
    pki,
    ca,
    'apiserver-kubelet-client',
    `/CN=${KUBELET_CLIENT}`,
    'extendedKeyUsage=clientAuth\n',
    7,
  );
  // This machine reaches the API server through a Unix socket into the host's namespace.
  const forward = join(dirname(fileURLToPath(import.meta.url)), 'forward.js');
  const socket = join(dir, 'apiserver.sock');
  const localPort = await freePort();
  const forwards = [
    spawnServer('forward-in', process.execPath, [forward, socket, `127.0.0.1:${API_PORT}`], { dir, netns: host.netns }),
    spawnServer('forward-out', process.execPath, [forward, `127.0.0.1:${localPort}`, socket], { dir }),
  ];
  const controllerUsers = [
    { name: 'system:kube-controller-manager', groups: [] },
    { name: 'system:kube-scheduler', groups: [] },
  ];
  const plane = await launch({
    dir,
    netns: host.netns,
    server: `https://127.0.0.1:${localPort}`,
    users: [...controllerUsers, ...users],
    caFile: ca.cert,
    args: [
      '--bind-address=0.0.0.0',
      `--advertise-address=${host.ipv4}`,
      `--secure-port=${API_PORT}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${ca.cert}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      `--kubelet-certificate-authority=${ca.cert}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
    ],
    extraProcesses: forwards,
  });
  const clusterServer = `https://${host.ipv4}:${API_PORT}`;
  const kubeconfigFor = (user: string) => {
    const token = plane.userTokens.get(user);
    if (token === undefined) throw new RigError(`the cluster has no user ${user}`, 'RIG_BAD_OPTION');
    return renderKubeconfig(clusterServer, plane.caPem, [{ name: user, token }]);
  };
  try {
    // The API server's own calls to kubelets (logs, exec, port-forward) as the kubelets' API admin.
    await plane.kubectl([
      'create',
      'clusterrolebinding',
      'berth-rig-apiserver-kubelet',
      '--clusterrole=system:kubelet-api-admin',
      `--user=${KUBELET_CLIENT}`,
    ]);
    const inside = (user: string) => {
      const token = plane.userTokens.get(user) ?? '';
      return renderKubeconfig(`https://127.0.0.1:${API_PORT}`, plane.caPem, [{ name: user, token }]);
    };
    await writeFile(join(dir, 'controller-manager.kubeconfig'), inside('system:kube-controller-manager'), {
      mode: 0o600,
    });
    await writeFile(join(dir, 'scheduler.kubeconfig'), inside('system:kube-scheduler'), { mode: 0o600 });
    plane.addProcess(
      spawnServer(
        'kube-controller-manager',
        requireBuilt('kube-controller-manager'),
        [
          `--kubeconfig=${join(dir, 'controller-manager.kubeconfig')}`,
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${join(dir, 'sa.key')}`,
          `--root-ca-file=${ca.cert}`,
          `--service-cluster-ip-range=${CLUSTER_SERVICE_RANGES.join(',')}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          // A node silent this long is NotReady, its pods' endpoints not ready.
          '--node-monitor-grace-period=20s',
          '--v=1',
        ],
        { dir, netns: host.netns },
      ),
    );
    plane.addProcess(
      spawnServer(
        'kube-scheduler',
        requireBuilt('kube-scheduler'),
        [
          `--kubeconfig=${join(dir, 'scheduler.kubeconfig')}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          '--v=1',
        ],
        { dir, netns: host.netns },
      ),
    );
  } catch (error) {
    await plane.stop();
    throw error;
  }
  // Assigned, not spread: the control plane's `processes` getter stays live across restarts.
  return Object.assign(plane, { clusterServer, ca, kubeconfigFor });
}

/** The user kube-apiserver is to kubelets: bound to system:kubelet-api-admin. */
const KUBELET_CLIENT = 'berth-rig-apiserver-kubelet-client';

interface Launch {
  readonly dir: string;
  /** Run etcd and kube-apiserver in this network namespace. */
  readonly netns?: string;
  /** Where this machine reaches the API server. */
  readonly server: string;
  /** Users beyond the rig's own, each with a token. */
  readonly users: readonly { name: string; groups: readonly string[] }[];
  /** The CA bundle that verifies the API server, once it exists. */
  readonly caFile: string;
  readonly args: readonly string[];
  /** Started already; stopped with the control plane, after it. */
  readonly extraProcesses?: readonly RigProcess[];
}

type Launched = RigControlPlane & {
  readonly userTokens: ReadonlyMap<string, string>;
  /** Stopped first, with the control plane. */
  addProcess(process: RigProcess): void;
};

async function launch(config: Launch): Promise<Launched> {
  const { dir, server } = config;
  const apiserverBin = requireBuilt('kube-apiserver');
  const kubectlBin = requireBuilt('kubectl');
  const later: RigProcess[] = [];
  const etcd = await startEtcd(dir, config.netns);

  const tokens = { admin: secret(), unprivileged: secret() };
  const userTokens = new Map(config.users.map((u) => [u.name, secret()]));
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(
    tokenFile,
    `${tokens.admin},${RigUsers.admin.name},${RigUsers.admin.name},"${RigUsers.admin.groups.join(',')}"\n` +
      `${tokens.unprivileged},${RigUsers.unprivileged.name},${RigUsers.unprivileged.name}\n` +
      config.users.map((u) => `${userTokens.get(u.name) ?? ''},${u.name},${u.name},"${u.groups.join(',')}"\n`).join(''),
    { mode: 0o600 },
  );
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'sa.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'sa.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const args = [
    `--etcd-servers=${etcd.url}`,
    // Dual-stack Service ranges from documentation prefixes; nothing is ever sent to them.
    `--service-cluster-ip-range=${CLUSTER_SERVICE_RANGES.join(',')}`,
    `--token-auth-file=${tokenFile}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--allow-privileged=true',
    '--v=1',
    ...config.args,
  ];
  const spawnOptions = { dir, ...(config.netns === undefined ? {} : { netns: config.netns }) };
  let apiserver = spawnServer('kube-apiserver', apiserverBin, args, spawnOptions);

  const waitReady = async (proc: RigProcess): Promise<string> =>
    waitUntil(
      proc,
      'ready',
      async () => {
        const bundle = await readFile(config.caFile, 'utf8').catch(() => undefined);
        if (bundle === undefined) return undefined;
        const res = await httpsGet(`${server}/readyz`, tokens.admin, bundle);
        return res.status === 200 ? bundle : undefined;
      },
      60_000,
    );
  const stop = () =>
    stopAndRemove([...later, apiserver, etcd.process, ...(config.extraProcesses ?? [])], [dir, etcd.dataDir]);
  let caPem: string;
  try {
    caPem = await waitReady(apiserver);
  } catch (error) {
    await stop();
    throw error;
  }
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
      apiserver = spawnServer('kube-apiserver', apiserverBin, args, spawnOptions);
      await waitReady(apiserver).catch(async (error: unknown) => {
        throw new RigError(
          `kube-apiserver did not come back: ${String(error)}\n${await tail(apiserver.logFile)}`,
          'RIG_SERVER_DIED',
        );
      });
    },
    userTokens,
    addProcess: (process) => later.unshift(process),
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
