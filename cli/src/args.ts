/** What the command line asks for. */
export type Command =
  | { readonly type: 'help' }
  | ({ readonly type: 'status' } & CommonOptions)
  | ({ readonly type: 'explain'; readonly service: string } & CommonOptions);

export interface CommonOptions {
  /** Print JSON for machines instead of text for people. */
  readonly json: boolean;
  /** `--kubeconfig`: wins over BERTH_KUBECONFIG, KUBECONFIG and ~/.kube/config. */
  readonly kubeconfig: string | undefined;
  /** `--no-cluster`: read only the bus. */
  readonly cluster: boolean;
}

/** The command line is wrong; the message says what to write instead. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'BERTH_CLI_USAGE';
}

export const USAGE = `Usage:
  berth status [--json] [--kubeconfig FILE] [--no-cluster]
      pools with their usage, each Service with its VIP and next hops or layer-2 owner, BGP peers
  berth explain NAMESPACE/NAME [--json] [--kubeconfig FILE] [--no-cluster]
      one sentence: why the Service has its address and route, or why not
      (exit 0: it is served; 1: no address or no route; 2: usage error; 3: cannot read the bus)

Reads the bus with the BERTH_NATS_* settings the services use, and the cluster through
--kubeconfig, BERTH_KUBECONFIG, KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount.`;

// Namespaces are DNS-1123 labels and Service names DNS-1035 labels; both at most 63 characters.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Checks `namespace/name`, saying what to write when it is not. */
export function parseServiceKey(text: string): string {
  const parts = text.split('/');
  if (parts.length === 1) {
    throw new UsageError(
      `"${text}" names no namespace: write berth explain default/${text} for the Service ${text} in namespace default`,
    );
  }
  const [namespace = '', name = ''] = parts;
  if (parts.length > 2)
    throw new UsageError(`"${text}" has more than one "/": write berth explain ${namespace}/${name}`);
  if (text !== text.toLowerCase()) {
    throw new UsageError(
      `"${text}": namespaces and Service names are lower case: write berth explain ${text.toLowerCase()}`,
    );
  }
  if (!NAMESPACE.test(namespace)) {
    throw new UsageError(
      `"${namespace}" is not a namespace: write lower-case letters, digits and "-", e.g. berth explain shop/${name || 'web'}`,
    );
  }
  if (!SERVICE.test(name)) {
    throw new UsageError(
      `"${name}" is not a Service name: write a letter, then lower-case letters, digits and "-", e.g. berth explain ${namespace}/web`,
    );
  }
  return text;
}

function parseOptions(command: string, args: readonly string[]): { options: CommonOptions; positional: string[] } {
  let json = false;
  let cluster = true;
  let kubeconfig: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--json') json = true;
    else if (arg === '--no-cluster') cluster = false;
    else if (arg === '--kubeconfig' || arg.startsWith('--kubeconfig=')) {
      const value = arg === '--kubeconfig' ? args[++i] : arg.slice('--kubeconfig='.length);
      if (value === undefined || value === '' || value.startsWith('--')) {
        throw new UsageError(`--kubeconfig needs a file: write berth ${command} --kubeconfig ~/.kube/config`);
      }
      kubeconfig = value;
    } else if (arg.startsWith('-')) {
      throw new UsageError(
        `unknown option ${arg}: berth ${command} takes --json, --kubeconfig FILE and --no-cluster (berth --help says more)`,
      );
    } else positional.push(arg);
  }
  return { options: { json, kubeconfig, cluster }, positional };
}

/** Reads `process.argv.slice(2)`; throws UsageError saying what to write instead. */
export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) {
    throw new UsageError('no command: write berth status, or berth explain NAMESPACE/NAME (berth --help says more)');
  }
  if (command === '--help' || command === '-h' || command === 'help') return { type: 'help' };
  if (rest.includes('--help') || rest.includes('-h')) return { type: 'help' };
  if (command === 'status') {
    const { options, positional } = parseOptions('status', rest);
    if (positional.length > 0) {
      throw new UsageError(
        `berth status takes no names (got ${positional.join(' ')}): to look at one Service write berth explain ${positional[0] ?? ''}`,
      );
    }
    return { type: 'status', ...options };
  }
  if (command === 'explain') {
    const { options, positional } = parseOptions('explain', rest);
    const [service, ...extra] = positional;
    if (service === undefined) throw new UsageError('berth explain needs a Service: write berth explain shop/web');
    if (extra.length > 0) {
      throw new UsageError(
        `berth explain takes one Service (got ${positional.join(' ')}): write berth explain ${service}, once per Service`,
      );
    }
    return { type: 'explain', service: parseServiceKey(service), ...options };
  }
  throw new UsageError(
    `unknown command "${command}": write berth status, or berth explain NAMESPACE/NAME (berth --help says more)`,
  );
}
