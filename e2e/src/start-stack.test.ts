import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startControlPlane, type RigControlPlane } from '@berth/rig';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const example = (name: string) => join(root, 'deploy', 'examples', name);

/** The variables of the stack's `berth.env` (`export K='v'` lines), PATH left out. */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) env[match[1]] = match[2].replace(/'\\''/g, "'");
  }
  return env;
}

interface StartedStack {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** What it told the person (standard error). */
  readonly said: string[];
  /** The variables of its `berth.env`. */
  readonly env: Record<string, string>;
  /** The kubectl its `berth.env` puts on the PATH. */
  readonly kubectl: string;
  /** Runs `berth …` as a person would after `source berth.env`: stdout and exit code. */
  berth(...args: string[]): Promise<{ stdout: string; code: number }>;
}

/** Runs `berth-rig start` (what `npm start` runs after building) until it prints its environment. */
async function startCli(...args: string[]): Promise<StartedStack> {
  const child = spawn(process.execPath, [join(root, 'libs', 'rig', 'dist', 'cli.js'), 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const said: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => said.push(line));
  const envFile = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('BERTH_STACK_ENV=')) resolve(line.slice('BERTH_STACK_ENV='.length));
    });
    child.once('exit', (code) => reject(new Error(`the stack exited with ${code}:\n${said.join('\n')}`)));
  });
  const path = /^export PATH=(.*):\$PATH$/m.exec(readFileSync(envFile, 'utf8'))?.[1];
  assert.ok(path, 'berth.env puts kubectl on the PATH');
  const berth = async (...cliArgs: string[]) => {
    const script = `source "$0" && berth "$@"`;
    try {
      return { stdout: (await run('bash', ['-c', script, envFile, ...cliArgs])).stdout, code: 0 };
    } catch (error) {
      const { stdout = '', code = -1 } = error as { stdout?: string; code?: number };
      return { stdout, code };
    }
  };
  return { child, said, env: readEnvFile(envFile), kubectl: join(path, 'kubectl'), berth };
}

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (ok(last)) return last;
    await sleep(200);
  }
  assert.fail(`${what}: still ${JSON.stringify(last)}`);
}

describe(
  './scripts/start: the whole stack on one machine, as a person runs it',
  { skip: process.getuid?.() !== 0 && 'needs root for the lab' },
  () => {
    let stack: StartedStack;
    let env: Record<string, string>;
    const kubectl = async (...args: string[]) =>
      (await run(stack.kubectl, args, { env: { ...process.env, ...env } })).stdout;

    before(async () => {
      // What `npm start` runs after building; free health ports so it never meets another run's.
      stack = await startCli('--health-port-base', '0');
      env = stack.env;
    });
    after(() => {
      if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
    });

    it('prints progress and what to try', () => {
      assert.ok(stack.said.some((l) => /\[\d+\.\d s\] starting NATS, Redis, gobgpd, etcd and kube-apiserver/.test(l)));
      assert.ok(stack.said.some((l) => l.includes('kubectl apply -f deploy/examples/service.yaml')));
      assert.ok(stack.said.includes('Ctrl-C stops everything.'));
    });

    it('Service applied → EXTERNAL-IP → route in gobgpd and at the router → deleted → route gone, address free', async () => {
      await kubectl('apply', '-f', example('service.yaml'));
      const ips = await eventually(
        'EXTERNAL-IP of default/web',
        async () =>
          (await kubectl('get', 'service', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}')).split(' '),
        (got) => got.length === 2,
      );
      const [v4, v6] = ips.sort((a, b) => a.length - b.length) as [string, string];
      assert.match(v4, /^203\.0\.113\.\d+$/);
      assert.match(v6, /^2001:db8:1::/);

      const gobgpRib = async (family: 'ipv4' | 'ipv6', prefix: string) => {
        const out = (await run('gobgp', ['--target', env['BERTH_GOBGP_TARGET'] ?? '', 'global', 'rib', '-a', family]))
          .stdout;
        // One line per path: "*> 203.0.113.0/32   192.0.2.11   …" (ADD-PATH: one per node).
        return out
          .split('\n')
          .map((line) => line.replace(/^[*> ]+/, '').split(/\s+/))
          .filter((cols) => cols[0] === prefix)
          .map((cols) => cols[1] ?? '')
          .sort();
      };
      const routerHops = async (prefix: string) => {
        const family = prefix.includes(':') ? '-6' : '-4';
        const out = (
          await run('ip', ['-n', env['BERTH_LAB_ROUTER_NETNS'] ?? '', family, '-j', 'route', 'show', prefix])
        ).stdout;
        const routes = JSON.parse(out === '' ? '[]' : out) as { gateway?: string; nexthops?: { gateway: string }[] }[];
        return routes.flatMap((r) => (r.nexthops ?? []).map((h) => h.gateway).concat(r.gateway ?? [])).sort();
      };
      const same = (want: string[]) => (got: string[]) => got.join() === want.join();

      await eventually(
        'gobgpd paths of the IPv4 VIP',
        () => gobgpRib('ipv4', `${v4}/32`),
        same(['192.0.2.11', '192.0.2.12']),
      );
      await eventually(
        'gobgpd paths of the IPv6 VIP',
        () => gobgpRib('ipv6', `${v6}/128`),
        same(['2001:db8::11', '2001:db8::12']),
      );
      await eventually('BIRD kernel route of the IPv4 VIP', () => routerHops(v4), same(['192.0.2.11', '192.0.2.12']));
      await eventually(
        'BIRD kernel route of the IPv6 VIP',
        () => routerHops(v6),
        same(['2001:db8::11', '2001:db8::12']),
      );
      const explained = await stack.berth('explain', 'default/web');
      assert.equal(explained.code, 0, explained.stdout);
      assert.match(explained.stdout, /announced over BGP with next hops 192\.0\.2\.11, 192\.0\.2\.12/);
      const status = await stack.berth('status');
      assert.equal(status.code, 0, status.stdout);
      assert.match(status.stdout, /default\/web/);

      const inUse = async () =>
        (await kubectl('get', 'ippool', 'default', '-o', 'jsonpath={.status.ipv4.inUse} {.status.ipv6.inUse}')).trim();
      await eventually('IPPool default in use', inUse, (got) => got === '1 1');

      await kubectl('delete', '-f', example('service.yaml'), '--wait=true', '--timeout=60s');
      await eventually('gobgpd paths after delete', () => gobgpRib('ipv4', `${v4}/32`), same([]));
      await eventually('gobgpd IPv6 paths after delete', () => gobgpRib('ipv6', `${v6}/128`), same([]));
      await eventually('router route after delete', () => routerHops(v4), same([]));
      await eventually('IPPool default after delete', inUse, (got) => got === '0 0');
    });

    it('Ctrl-C stops everything cleanly: exit 0, no namespace left', async () => {
      const exited = new Promise<number | null>((resolve) => stack.child.once('exit', (code) => resolve(code)));
      stack.child.kill('SIGINT');
      assert.equal(await exited, 0, stack.said.join('\n'));
      const namespaces = (await run('ip', ['netns', 'list'])).stdout;
      assert.ok(!namespaces.includes(env['BERTH_LAB_ROUTER_NETNS'] ?? '<none>'), namespaces);
    });
  },
);

describe('./scripts/start with bad options: a clear error before anything starts', () => {
  for (const { args, message } of [
    {
      args: ['--kubeconfig', '/nonexistent/kubeconfig', '--no-lab'],
      message: /--kubeconfig \/nonexistent\/kubeconfig: no such file/,
    },
    { args: ['--health-port-base', '70000'], message: /--health-port-base 70000 is not a port/ },
    { args: ['--colour'], message: /Unknown option '--colour' \(--help lists them\)/ },
  ])
    it(args.join(' '), async () => {
      const failed = await run(process.execPath, [join(root, 'libs', 'rig', 'dist', 'cli.js'), 'start', ...args]).then(
        () => assert.fail('it started'),
        (error: unknown) => error as { code: number; stderr: string },
      );
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, message);
      assert.doesNotMatch(failed.stderr, /starting NATS/);
    });
});

describe('./scripts/start --kubeconfig: the services here, against an existing cluster', () => {
  let cluster: RigControlPlane;
  let stack: StartedStack;

  before(async () => {
    // A cluster Berth has never seen: no CRDs, no namespace, no pools.
    cluster = await startControlPlane();
    stack = await startCli('--kubeconfig', cluster.kubeconfig, '--no-lab', '--health-port-base', '0');
  });
  after(async () => {
    if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
    await cluster.stop();
  });

  it('installs the CRDs, leaves the cluster’s pools to its operator, and gives a Service an address', async () => {
    assert.ok(stack.said.some((l) => l.includes(`against the cluster of ${cluster.kubeconfig}`)));
    assert.equal((await cluster.kubectl(['get', 'ippools', '-o', 'name'])).trim(), '');
    await cluster.kubectl(['apply', '-f', example('ippool.yaml'), '-f', example('service.yaml')]);
    const ips = await eventually(
      'EXTERNAL-IP of default/web',
      async () =>
        (
          await cluster.kubectl(['get', 'service', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])
        ).trim(),
      (got) => got.split(' ').length === 2,
    );
    assert.match(ips, /203\.0\.113\./);
    const exited = new Promise<number | null>((resolve) => stack.child.once('exit', (code) => resolve(code)));
    stack.child.kill('SIGTERM');
    assert.equal(await exited, 0, stack.said.join('\n'));
  });
});
