import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fromCache, PINNED } from './cache.js';
import { RigError } from './errors.js';

const run = promisify(execFile);

/** Berth's Helm chart in this repository: the one source of its CRDs and RBAC. */
export const CHART_DIR: string = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'deploy',
  'helm',
  'berth',
);

/** The helm the setup built (libs/rig/scripts/build-helm.sh), at the version in libs/rig/versions.json. */
export function helmBinary(): string {
  return fromCache(join(`helm-${PINNED.helm}`, 'bin', 'helm'), `helm ${PINNED.helm}`, constants.X_OK);
}

/** Runs the setup's helm with `args`; resolves with its stdout, rejects with its stderr. */
export async function runHelm(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  try {
    return (await run(helmBinary(), args, { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 })).stdout;
  } catch (error) {
    const { stderr = '' } = error as { stderr?: string };
    throw new RigError(`helm ${args.join(' ')} failed: ${stderr.trim() || String(error)}`, 'RIG_COMMAND_FAILED');
  }
}

export interface RenderOptions {
  /** Only these templates, as paths inside the chart (`templates/watcher/rbac.yaml`). */
  readonly showOnly?: readonly string[];
  /** @default 'berth-system' */
  readonly namespace?: string;
  /** @default 'berth': objects are then named berth-watcher, berth-ipam, ... */
  readonly releaseName?: string;
}

/**
 * `helm template` of Berth's chart: the manifests as one YAML stream, ready for `kubectl apply -f -`.
 * `values` is either an object (as a values file would hold) or `--set` expressions
 * (`['topology=per-node']`). Fails with helm's own message, which names the bad value.
 */
export async function renderChart(
  values: Readonly<Record<string, unknown>> | readonly string[] = {},
  options: RenderOptions = {},
): Promise<string> {
  // Not named berth-rig-*: the rig's sweep removes such folders when they have no live owner.
  const dir = await mkdtemp(join(tmpdir(), 'berth-helm-values-'));
  try {
    const args = ['template', options.releaseName ?? 'berth', CHART_DIR];
    args.push('--namespace', options.namespace ?? 'berth-system');
    if (isSetList(values)) {
      for (const expression of values) args.push('--set', expression);
    } else {
      // JSON is YAML, and a file keeps types (a string "true" stays a string) where --set would guess.
      const file = join(dir, 'values.json');
      await writeFile(file, JSON.stringify(values));
      args.push('--values', file);
    }
    for (const template of options.showOnly ?? []) args.push('--show-only', template);
    return await runHelm(args);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function isSetList(values: Readonly<Record<string, unknown>> | readonly string[]): values is readonly string[] {
  return Array.isArray(values);
}

/**
 * The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs the setup fetched
 * (libs/rig/scripts/fetch-prometheus-operator-crds.sh), so an API server can check the chart's
 * monitoring objects against the real schemas.
 */
export function prometheusOperatorCrds(): string[] {
  const version = PINNED['prometheus-operator'];
  return ['servicemonitors', 'prometheusrules'].map((kind) =>
    fromCache(
      join(`prometheus-operator-crds-${version}`, `monitoring.coreos.com_${kind}.yaml`),
      `the Prometheus Operator's ${kind} CRD ${version}`,
    ),
  );
}

/** promtool, unpacked from Debian's prometheus package by the setup (libs/rig/scripts/fetch-promtool.sh). */
export function promtoolBinary(): string {
  return fromCache(join('promtool', 'promtool'), 'promtool', constants.X_OK);
}
