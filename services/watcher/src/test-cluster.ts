// Test support (not a test): the real servers a watcher runs against, set up as in production.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connectBus, type BucketSpec, type Bus } from '@berth/bus';
import { createLogger } from '@berth/runtime';
import {
  helmBinary,
  installBerthApi,
  startControlPlane,
  startNats,
  watcherKubeconfig,
  type RigControlPlane,
  type RigNats,
} from '@berth/rig';

const here = dirname(fileURLToPath(import.meta.url));
/** The built watcher, to run as a process. */
export const WATCHER_MAIN = join(here, 'main.js');

export interface TestCluster {
  kube: RigControlPlane;
  nats: RigNats;
  bus: Bus;
  /** A kubeconfig for the berth-watcher ServiceAccount, bound by the Helm chart's watcher RBAC. */
  watcherKubeconfig: string;
  apply(object: object): Promise<string>;
  stop(): Promise<void>;
}

/** kube-apiserver with Berth's CRDs and the watcher's RBAC, plus NATS, plus namespace `shop`. */
export async function startTestCluster(): Promise<TestCluster> {
  // helm renders the chart's RBAC for the watcher; when it is missing, no server is left running.
  helmBinary();
  const [kube, nats] = await Promise.all([startControlPlane(), startNats()]);
  const kubectl = (args: readonly string[], input?: string) => kube.kubectl(args, input === undefined ? {} : { input });
  await installBerthApi(kubectl);
  await kubectl(['create', 'namespace', 'shop']);
  // The chart's own RBAC for the watcher, so the tests run with exactly what a cluster grants.
  const watcherConfig = await watcherKubeconfig(kube);
  const bus = await connectBus(nats.as('rig').config, {
    name: 'test',
    identity: 'watcher',
    logger: createLogger('test', 'silent'),
  });
  // Playing the watcher, which makes the buckets.
  await bus.ensureTopology();
  return {
    kube,
    nats,
    bus,
    watcherKubeconfig: watcherConfig,
    apply: (object) => kubectl(['apply', '-f', '-'], JSON.stringify(object)),
    async stop() {
      await bus.close();
      await Promise.all([kube.stop(), nats.stop()]);
    },
  };
}

/**
 * A live copy of one bucket, kept by watching it; `seenKeys` remembers every key ever put and
 * `puts` every write as `key@revision`, in order.
 */
export async function mirror<T extends { key: string; revision: string }>(
  bus: Bus,
  spec: BucketSpec<T>,
  signal: AbortSignal,
) {
  const bucket = await bus.bucket(spec);
  const entries = new Map<string, T>();
  const seenKeys = new Set<string>();
  const puts: string[] = [];
  void (async () => {
    for await (const change of bucket.watch(signal)) {
      if (change.type === 'put') {
        entries.set(change.key, change.value);
        seenKeys.add(change.key);
        puts.push(`${change.key}@${change.value.revision}`);
      } else if (change.type === 'deleted') entries.delete(change.key);
    }
  })();
  return { bucket, entries, seenKeys, puts };
}

export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A LoadBalancer Service in namespace `shop`; `cls` null leaves the class unset. */
export const lbService = (name: string, cls: string | null = 'berth.dev/lb', extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: {
    type: 'LoadBalancer',
    ...(cls === null ? {} : { loadBalancerClass: cls }),
    selector: { app: name },
    ports: [{ port: 80 }],
    ...extra,
  },
});

/** The value of one sample of a Prometheus text exposition, or 0 when absent. */
export async function metric(port: number, sample: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(sample));
  return line === undefined ? 0 : Number(line.slice(sample.length).trim());
}
