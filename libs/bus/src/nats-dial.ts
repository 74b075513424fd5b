import type { ConnectionOptions, NatsConnection } from 'nats';
// nats.js's own `connect` is these two calls with its DNS resolver; the hook for another resolver
// is not in its public API, so this file alone reaches into it (nats 2.x; a test covers it).
import { NatsConnectionImpl, setTransportFactory } from 'nats/lib/nats-base-client/internal_mod.js';
import { NodeTransport } from 'nats/lib/src/node_transport.js';
import { ServerAddresses } from './server-addresses.js';

const addresses = new ServerAddresses();

/**
 * Connects as nats.js's `connect` does, but with server names resolved by `ServerAddresses`
 * before each attempt: a reconnect goes on while cluster DNS is down. The transport factory is
 * global to nats.js, so this sets it on every call (a plain `connect` elsewhere resets it).
 */
export async function dialNats(options: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({
    factory: () => new NodeTransport(),
    dnsResolveFn: (name) => addresses.resolve(name),
  });
  const servers = options.servers ?? [];
  await addresses.learn(typeof servers === 'string' ? [servers] : servers);
  return NatsConnectionImpl.connect(options);
}
