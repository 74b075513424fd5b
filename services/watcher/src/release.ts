/**
 * `berth-watcher-release`: run by the Helm chart after `helm uninstall` (a post-delete hook), once
 * no watcher is left to undo what it wrote. Each Berth Service loses its address, condition and
 * cleanup finalizer (else deleting it would wait forever for a watcher), and the watcher's Lease
 * goes. Exits 1 when anything could not be released, so that `helm uninstall` says so.
 */
import { baseConfig, ConfigError, createLogger, env, loadConfig, type ConfigOf } from '@berth/runtime';
import { clusterConfig } from './config.js';
import { isBerths, KubeApiError, kubeApiFor, type KubeApi } from '@berth/kube';
import type { ServiceObject } from './snapshots/objects.js';
import { decideRelease } from './status/service-status.js';
import { FIELD_MANAGER } from './status/status-writer.js';

const spec = {
  ...clusterConfig,
  logLevel: baseConfig.logLevel,
  /** The Secret with bus-auth's key, which a hook made: it goes too. */
  busAuthIssuerSecret: env.optionalString('BERTH_BUS_AUTH_ISSUER_SECRET'),
};
let config: ConfigOf<typeof spec>;
try {
  config = loadConfig(spec);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  createLogger('watcher-release').fatal({ problems: error.problems }, error.message);
  process.exit(2);
}
const logger = createLogger('watcher-release', config.logLevel);
const api = kubeApiFor(config.kubeconfig);
const policy = { className: config.loadBalancerClass, isDefault: config.defaultClass };
const ATTEMPTS = 5;

/** Takes Berth's fields off one Service; retries on a conflicting write, and a Service that went is done. */
async function release(api: KubeApi, first: ServiceObject): Promise<boolean> {
  let service = first;
  for (let attempt = 1; ; attempt++) {
    const decision = decideRelease(service, isBerths(service, policy));
    if (decision === undefined) return false;
    const { name, namespace = 'default', uid, resourceVersion } = service.metadata;
    const path = `/api/v1/namespaces/${namespace}/services/${name}`;
    try {
      // An apply that sets nothing gives up every status field the watcher applied: the addresses and the condition.
      await api.apply(
        `${path}/status`,
        { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, uid }, status: {} },
        FIELD_MANAGER,
      );
      if (decision.finalizers !== undefined) {
        await api.mergePatch(path, { metadata: { finalizers: decision.finalizers, resourceVersion, uid } });
      }
      logger.info({ service: `${namespace}/${name}` }, 'address, condition and finalizer released');
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      if (!(error instanceof KubeApiError && error.status === 409) || attempt === ATTEMPTS) throw error;
      service = await api.get<ServiceObject>(path);
    }
  }
}

let released = 0;
let failed = 0;
let continueToken: string | undefined;
do {
  const page = await api.list<ServiceObject>('/api/v1/services', {
    limit: 500,
    ...(continueToken === undefined ? {} : { continueToken }),
  });
  for (const service of page.items) {
    try {
      if (await release(api, service)) released++;
    } catch (error) {
      failed++;
      const { namespace = 'default', name } = service.metadata;
      logger.error({ err: error, service: `${namespace}/${name}` }, 'could not release the Service');
    }
  }
  continueToken = page.continueToken;
} while (continueToken !== undefined);

/** Deletes what the watcher (its Lease) or a hook (bus-auth's key) made outside Helm's release; gone already is done. */
async function deleteLeftover(path: string, what: Record<string, string>): Promise<void> {
  try {
    await api.delete(path);
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 404)) {
      failed++;
      logger.error({ err: error, ...what, namespace: config.namespace }, 'could not delete what Berth left');
    }
  }
}
await deleteLeftover(`/apis/coordination.k8s.io/v1/namespaces/${config.namespace}/leases/${config.leaseName}`, {
  lease: config.leaseName,
});
if (config.busAuthIssuerSecret !== undefined)
  await deleteLeftover(`/api/v1/namespaces/${config.namespace}/secrets/${config.busAuthIssuerSecret}`, {
    secret: config.busAuthIssuerSecret,
  });
logger.info({ released, failed }, failed === 0 ? 'Berth released every Service' : 'some Services were not released');
process.exitCode = failed === 0 ? 0 : 1;
