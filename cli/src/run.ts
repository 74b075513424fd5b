import { existsSync } from 'node:fs';
import { ConfigError, createLogger, loadConfig } from '@berth/runtime';
import { BusUnreadableError, readBus } from './adapters/bus.js';
import { readCluster } from './adapters/cluster.js';
import { kubeSource } from './adapters/kube-source.js';
import { parseArgs, USAGE, UsageError, type Command } from './args.js';
import { cliConfig } from './config.js';
import { explain } from './view/explain.js';
import { renderStatus } from './view/render.js';
import { status } from './view/status.js';
import type { ClusterView, ViewSettings } from './view/world.js';

/** Exit codes: 0 served (or status shown), 1 no address or no route, 2 usage, 3 bus unreadable. */
export const EXIT = { ok: 0, unserved: 1, usage: 2, unreadable: 3 } as const;

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The cluster's view, or a one-line note on stderr saying why berth shows the bus alone. */
async function clusterView(
  command: Exclude<Command, { type: 'help' }>,
  config: { kubeconfig: string | undefined; timeoutMs: number },
  environment: Readonly<Record<string, string | undefined>>,
  io: Io,
): Promise<ClusterView> {
  if (!command.cluster) return { reachable: false, why: 'not read (--no-cluster)' };
  const source = kubeSource(command.kubeconfig, { ...environment, BERTH_KUBECONFIG: config.kubeconfig }, existsSync);
  if (source.type === 'none') {
    const why = 'no kubeconfig (give --kubeconfig FILE, or set BERTH_KUBECONFIG or KUBECONFIG)';
    io.err(`berth: ${why}: showing the bus view only`);
    return { reachable: false, why };
  }
  const view = await readCluster(source, command.type === 'explain' ? command.service : undefined, config.timeoutMs);
  if (!view.reachable) io.err(`berth: ${view.why}: showing the bus view only`);
  return view;
}

/** JSON for machines: a field berth does not know is null, never missing. */
const toJson = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => v ?? null, 2);

/** The whole of `berth`: arguments and environment in, text out, an exit code back. */
export async function run(
  argv: readonly string[],
  environment: Readonly<Record<string, string | undefined>>,
  io: Io,
): Promise<number> {
  let command: Command;
  let config: ReturnType<typeof loadConfig<typeof cliConfig>>;
  try {
    command = parseArgs(argv);
    if (command.type === 'help') {
      io.out(USAGE);
      return EXIT.ok;
    }
    config = loadConfig(cliConfig, environment);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.err(`berth: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }

  const logger = createLogger('berth', config.logLevel, process.stderr);
  const [world, cluster] = await Promise.all([
    readBus(config, { timeoutMs: config.timeoutMs, logger }).catch((error: unknown) => {
      if (error instanceof BusUnreadableError) return error;
      throw error;
    }),
    clusterView(command, config, environment, io),
  ]);
  if (world instanceof BusUnreadableError) {
    io.err(`berth: ${world.message}`);
    return EXIT.unreadable;
  }
  const settings: ViewSettings = {
    now: Date.now(),
    healthTimeoutMs: config.nodeHealthTimeoutMs,
    loadBalancerClass: config.loadBalancerClass,
    defaultClass: config.defaultClass,
  };

  if (command.type === 'status') {
    const shown = status(world, cluster, settings);
    io.out(command.json ? toJson(shown) : renderStatus(shown));
    return EXIT.ok;
  }
  const answer = explain(command.service, world, cluster, settings);
  if (command.json) {
    const facts = cluster.reachable ? { cluster: cluster.service ?? null } : { clusterUnread: cluster.why };
    io.out(toJson({ ...answer, ...facts }));
  } else io.out(answer.sentence);
  return answer.fine ? EXIT.ok : EXIT.unserved;
}
