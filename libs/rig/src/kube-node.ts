import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBuilt } from './control-plane.js';
import { RigError } from './errors.js';
import type { LabHost } from './lab.js';
import { killCommandsWith, removeCgroup, spawnServer, tail, waitUntil, type RigProcess } from './process.js';
import { issueCertificate, type KeyPair } from './tls.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/** Where Debian's containernetworking-plugins puts the CNI plugins. */
const CNI_BIN = '/usr/lib/cni';

/** What one worker needs from its cluster. */
export interface KubeNodeSpec {
  readonly host: LabHost;
  /** The rig folder of the cluster: the node's folder goes in it. */
  readonly dir: string;
  /** This node's pod ranges (IPv4, IPv6), e.g. 198.18.65.0/24, and every node's together. */
  readonly podCidrs: readonly [string, string];
  readonly clusterCidrs: readonly [string, string];
  /** The cluster's DNS Service address. */
  readonly clusterDns: string;
  readonly ca: KeyPair;
  /** Kubeconfigs (their text) of the node's user `system:node:<name>` and of `system:kube-proxy`. */
  readonly kubeletKubeconfig: string;
  readonly proxyKubeconfig: string;
  /** A docker-archive tarball of every image the node's pods run, the sandbox image among them. */
  readonly images: string;
  readonly sandboxImage: string;
}

/** A worker of the rig's cluster: containerd, a kubelet and kube-proxy inside a lab host. */
export interface RigKubeNode {
  readonly name: string;
  readonly host: LabHost;
  readonly podCidrs: readonly [string, string];
  /** The last lines of one of the node's logs. */
  logTail(process: 'containerd' | 'kubelet' | 'kube-proxy', lines?: number): Promise<string>;
  /** `ctr` against this node's containerd, in the Kubernetes namespace. */
  ctr(...args: string[]): Promise<string>;
  /** Kills the kubelet, kube-proxy, containerd and every container of the node at once, as a power loss would. */
  kill(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The cgroup every container of `node` runs under, in each v1 hierarchy (or v2's one). */
const cgroupRoot = (dir: string, node: string) => `/${dir.split('/').pop() ?? 'berth-rig'}-${node}`;

/**
 * Creates `path` in every cgroup hierarchy: the kubelet checks for its cgroup root in each, the
 * systemd and unified ones too. A new cpuset is empty until given its parent's CPUs and memory nodes.
 */
function makeCgroup(path: string): void {
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', hierarchy);
    if (!existsSync(join(base, 'cgroup.procs'))) continue;
    mkdirSync(join(base, path), { recursive: true });
    if (hierarchy === 'cpuset') {
      for (const file of ['cpuset.cpus', 'cpuset.mems'])
        writeFileSync(join(base, path, file), readFileSync(join(base, file), 'utf8'));
    }
  }
}

/**
 * Starts a worker in `spec.host`: containerd in a mount namespace of the node's own (so the paths
 * that containerd and the kubelet hard-code are the node's), the node's images imported into it,
 * then the kubelet in the same namespaces and kube-proxy (iptables) in the node's network.
 * Resolves once the processes run; the caller waits for the Node to be Ready.
 */
export async function startKubeNode(spec: KubeNodeSpec): Promise<RigKubeNode> {
  const { host } = spec;
  const name = host.name;
  const dir = join(spec.dir, name);
  for (const sub of [
    'containerd',
    'run-containerd',
    'var-lib',
    'var-lib-work',
    'log',
    'kubelet',
    'cni/net.d',
    'cni/ipam',
    'volume-plugins',
    'runc',
  ])
    mkdirSync(join(dir, sub), { recursive: true });
  const cgroup = cgroupRoot(spec.dir, name);
  // What a sweep of a killed run removes: the containers' cgroup, the shims (by their socket's folder).
  appendFileSync(join(spec.dir, 'cgroups'), `${cgroup}\n`);
  appendFileSync(join(spec.dir, 'commands'), `${join(dir, 'containerd')}/\n`);
  makeCgroup(cgroup);

  const socket = join(dir, 'containerd', 'containerd.sock');
  writeFileSync(join(dir, 'containerd.toml'), containerdConfig(dir, spec.sandboxImage));
  writeFileSync(join(dir, 'cni', 'net.d', '10-rig.conflist'), JSON.stringify(cniConfig(dir, spec.podCidrs)));
  const serving = await issueCertificate(
    dir,
    spec.ca,
    'kubelet',
    `/CN=system:node:${name}/O=system:nodes`,
    `subjectAltName=IP:${host.ipv4},IP:${host.ipv6},DNS:${name}\nextendedKeyUsage=serverAuth\n`,
    7,
  );
  writeFileSync(join(dir, 'kubelet.kubeconfig'), spec.kubeletKubeconfig, { mode: 0o600 });
  writeFileSync(join(dir, 'kube-proxy.kubeconfig'), spec.proxyKubeconfig, { mode: 0o600 });
  writeFileSync(join(dir, 'kubelet.json'), JSON.stringify(kubeletConfig(spec, dir, cgroup, serving)));
  writeFileSync(join(dir, 'kube-proxy.json'), JSON.stringify(proxyConfig(spec, dir)));
  writeFileSync(join(dir, 'node.sh'), nodeScript(dir, requireTool('containerd')));

  const processes: RigProcess[] = [];
  const kill = async () => {
    for (const process of processes.reverse()) await process.stop(0);
    processes.length = 0;
    killCommandsWith(`${join(dir, 'containerd')}/`);
    // Kills what is left in the node's cgroup until it can be removed.
    await removeCgroup(cgroup);
  };
  try {
    const containerd = spawnServer(
      `${name}-containerd`,
      'nsenter',
      [
        `--net=/run/netns/${host.netns}`,
        '--',
        'unshare',
        '--mount',
        '--propagation',
        'slave',
        '--',
        'sh',
        join(dir, 'node.sh'),
      ],
      { dir: spec.dir },
    );
    processes.push(containerd);
    const ctrBin = requireTool('ctr');
    const ctr = async (...args: string[]) =>
      (
        await run(ctrBin, ['--address', socket, '--namespace', 'k8s.io', ...args], {
          timeout: 300_000,
          maxBuffer: 64 * 2 ** 20,
        })
      ).stdout;
    await waitUntil(containerd, 'serving', () => ctr('version'), 30_000);
    await ctr('images', 'import', spec.images).catch((error: unknown) => {
      throw new RigError(
        `importing ${spec.images} into ${name}'s containerd failed: ${String(error)}`,
        'RIG_COMMAND_FAILED',
      );
    });
    const enter = ['--target', String(containerd.pid), '--mount', '--net', '--'];
    processes.push(
      spawnServer(
        `${name}-kubelet`,
        'nsenter',
        [
          ...enter,
          requireBuilt('kubelet'),
          `--config=${join(dir, 'kubelet.json')}`,
          `--kubeconfig=${join(dir, 'kubelet.kubeconfig')}`,
          `--root-dir=${join(dir, 'kubelet')}`,
          `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
          `--hostname-override=${name}`,
          // Dual-stack: an InternalIP of each family, so that IPv6 VIPs get next hops too.
          `--node-ip=${host.ipv4},${host.ipv6}`,
          '--v=1',
        ],
        { dir: spec.dir },
      ),
      spawnServer(
        `${name}-kube-proxy`,
        'nsenter',
        [...enter, requireBuilt('kube-proxy'), `--config=${join(dir, 'kube-proxy.json')}`, '--v=1'],
        { dir: spec.dir },
      ),
    );
    return {
      name,
      host,
      podCidrs: spec.podCidrs,
      logTail: (process, lines) => tail(join(spec.dir, `${name}-${process}.log`), lines),
      ctr,
      kill,
      [Symbol.asyncDispose]: kill,
    };
  } catch (error) {
    await kill();
    throw error;
  }
}

/**
 * Runs in the node's new mount namespace: the node's own /var/lib (an overlay: the kubelet's
 * device-plugin and CNI's result folders are fixed paths there), /var/log (pod logs) and
 * /run/containerd (shim sockets), its kernel settings for pods, then containerd.
 */
function nodeScript(dir: string, containerd: string): string {
  return `set -eu
mkdir -p /run/containerd
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=${dir}/var-lib,workdir=${dir}/var-lib-work /var/lib
mount --bind ${dir}/log /var/log
mount --bind ${dir}/run-containerd /run/containerd
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
exec ${containerd} --config ${dir}/containerd.toml
`;
}

/**
 * containerd for one node: its own folders and socket; the CRI plugin with the node's CNI
 * configuration, a local sandbox image, cgroupfs. This machine's VM cannot lower oom_score_adj
 * (no CAP_SYS_RESOURCE), so containerd must not try.
 */
function containerdConfig(dir: string, sandboxImage: string): string {
  const c = join(dir, 'containerd');
  return `version = 2
root = "${c}/root"
state = "${c}/state"
[grpc]
  address = "${c}/containerd.sock"
[ttrpc]
  address = "${c}/containerd.sock.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${dir}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${dir}/cni/net.d"
`;
}

/**
 * A bridge on the node with its pod ranges, IPv4 and IPv6, routed (not NATed): the lab routes each
 * node's ranges to it.
 */
function cniConfig(dir: string, [ipv4, ipv6]: readonly [string, string]): unknown {
  return {
    cniVersion: '0.4.0',
    name: 'rig',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: ipv4 }], [{ subnet: ipv6 }]],
          routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
          dataDir: join(dir, 'cni', 'ipam'),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

function kubeletConfig(spec: KubeNodeSpec, dir: string, cgroup: string, serving: KeyPair): unknown {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // These machines have cgroup v1 only, which Kubernetes 1.35 refuses unless told.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: cgroup,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${join(dir, 'containerd', 'containerd.sock')}`,
    address: spec.host.ipv4,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    tlsCertFile: serving.cert,
    tlsPrivateKeyFile: serving.key,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: spec.ca.cert } },
    authorization: { mode: 'Webhook' },
    clusterDNS: [spec.clusterDns],
    clusterDomain: 'cluster.local',
    // The machine's resolver is not the lab's: pods get the cluster's DNS and nothing else.
    resolvConf: '',
    volumePluginDir: join(dir, 'volume-plugins'),
    // The images were imported, and nothing can pull them again: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // cAdvisor sees the whole machine's disk and memory on every node: evict only when it is truly short.
    evictionHard: { 'memory.available': '200Mi', 'nodefs.available': '2%', 'imagefs.available': '2%' },
    maxPods: 60,
    serializeImagePulls: false,
    nodeStatusUpdateFrequency: '4s',
  };
}

function proxyConfig(spec: KubeNodeSpec, dir: string): unknown {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: join(dir, 'kube-proxy.kubeconfig') },
    hostnameOverride: spec.host.name,
    mode: 'iptables',
    clusterCIDR: spec.clusterCidrs.join(','),
    // Zero: leave the conntrack sysctls alone, which are the whole machine's.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    metricsBindAddress: '127.0.0.1:10249',
    healthzBindAddress: `${spec.host.ipv4}:10256`,
  };
}
