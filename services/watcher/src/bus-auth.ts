/**
 * `berth-watcher-bus-auth`: vouches for node-agents to NATS (its auth callout). A node-agent
 * presents its pod's projected ServiceAccount token; the API server says whose it is and which
 * node the pod runs on; bus-auth answers with a user allowed to speak for that node alone.
 * `berth-watcher-bus-auth ensure-issuer` makes the Secret with its signing key when missing (a Helm
 * hook, before an install or upgrade): the NATS servers read its public key from there.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { busPermissions, connectNats } from '@berth/bus';
import { KubeApiError, kubeApiFor } from '@berth/kube';
import { baseConfig, createLogger, env, loadConfigOrExit, runService, type Logger } from '@berth/runtime';
import { Counter } from 'prom-client';
import { admitNodeAgent, tokenExpiry } from './bus-auth/admission.js';
import { answerCallouts, type Judge } from './bus-auth/callout.js';
import { issuerFromSecret, issuerSecretData } from './bus-auth/issuer.js';
import { reviewToken } from './bus-auth/token-review.js';
import { busAuthConfig } from './config.js';

if (process.argv[2] === 'ensure-issuer') process.exit(await ensureIssuer());

await runService({
  component: 'bus-auth',
  config: busAuthConfig,
  async start({ config, logger, readiness, registry, signal }) {
    const issuer = issuerFromSecret(readFileSync(config.issuerFile, 'utf8'));
    const api = kubeApiFor(config.kubeconfig);
    const policy = {
      namespace: config.namespace,
      serviceAccount: config.nodeAgentServiceAccount,
      audience: config.audience,
    };
    const decisions = new Counter({
      name: 'berth_bus_auth_decisions_total',
      help: 'Clients of NATS vouched for or refused, by result',
      labelNames: ['result'],
      registers: [registry],
    });
    const judge: Judge = async (token) => {
      if (token === undefined || token === '')
        return { ok: false, reason: 'no token: a node-agent presents its projected ServiceAccount token' };
      const admission = admitNodeAgent(await reviewToken(api, token, config.audience), policy);
      if (!admission.admitted) return { ok: false, reason: admission.reason };
      const latest = Math.floor(Date.now() / 1000) + config.userTtlSeconds;
      return {
        ok: true,
        name: `node-agent:${admission.node}`,
        permissions: busPermissions('node-agent', admission.node),
        expiresAt: Math.min(tokenExpiry(token) ?? latest, latest),
        about: { node: admission.node, pod: admission.pod },
      };
    };
    const nc = await connectNats(config, { name: 'bus-auth', identity: 'bus-auth', logger, readiness, registry });
    const answering = answerCallouts(nc, issuer, judge, logger, (result) => decisions.inc({ result }), signal);
    logger.info({ issuer: issuer.getPublicKey(), serviceAccount: policy.serviceAccount }, 'answering the auth callout');
    return [
      async () => {
        await nc.drain();
        await answering;
      },
    ];
  },
});

/** Makes (or completes) the issuer Secret; returns the exit code. */
async function ensureIssuer(): Promise<number> {
  const config = loadConfigOrExit('bus-auth-issuer', {
    logLevel: baseConfig.logLevel,
    kubeconfig: env.file('BERTH_KUBECONFIG'),
    namespace: env.string('BERTH_NAMESPACE', 'berth-system'),
    secret: env.string('BERTH_BUS_AUTH_ISSUER_SECRET'),
  });
  const logger = createLogger('bus-auth-issuer', config.logLevel);
  try {
    return await writeIssuer(config, logger);
  } catch (error) {
    // Forbidden, or the API server unreachable: say which Secret, and let the hook fail.
    logger.fatal(
      { err: error, secret: config.secret, namespace: config.namespace },
      'could not make the issuer Secret',
    );
    return 1;
  }
}

async function writeIssuer(
  config: { kubeconfig: string | undefined; namespace: string; secret: string },
  logger: Logger,
): Promise<number> {
  const api = kubeApiFor(config.kubeconfig);
  const path = `/api/v1/namespaces/${config.namespace}/secrets`;
  let existing: Record<string, string> | undefined;
  try {
    const secret = await api.get<{ data?: Record<string, string> }>(`${path}/${config.secret}`);
    existing = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 404)) throw error;
  }
  const data = issuerSecretData(existing, () => randomBytes(32).toString('base64'));
  if (data === undefined) {
    logger.info({ secret: config.secret }, 'the issuer Secret is there');
    return 0;
  }
  const stringData = { seed: data.seed, issuer: data.issuer };
  if (existing === undefined)
    await api.create(path, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: config.secret, labels: { 'app.kubernetes.io/part-of': 'berth' } },
      type: 'Opaque',
      stringData,
    });
  else await api.mergePatch(`${path}/${config.secret}`, { stringData });
  logger.info(
    { secret: config.secret, issuer: data.issuer },
    existing === undefined ? 'made the issuer Secret' : 'completed the issuer Secret',
  );
  return 0;
}
