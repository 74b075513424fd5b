/**
 * Carries TCP connections across network namespaces through a Unix socket (the file system crosses
 * namespaces, loopback does not). Each end is `host:port` or a Unix socket path: run one end inside
 * a lab host's namespace and the other outside it.
 *   node forward.js 127.0.0.1:4222 /path/sock     accept TCP here, connect to the socket
 *   node forward.js /path/sock 192.0.2.10:6443     accept on the socket, connect over TCP here
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

const [listen, target] = process.argv.slice(2);
if (listen === undefined || target === undefined) {
  process.stderr.write('usage: forward <host:port | socket path> <host:port | socket path>\n');
  process.exit(2);
}
const isPath = (end: string) => end.startsWith('/');
const hostPort = (end: string) => {
  const colon = end.lastIndexOf(':');
  return { host: end.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(end.slice(colon + 1)) };
};
const dial = (): Socket => (isPath(target) ? connect(target) : connect(hostPort(target)));

const server = createServer((client) => {
  const upstream = dial();
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy()).on('close', () => upstream.destroy());
  upstream.on('error', () => client.destroy()).on('close', () => client.destroy());
});
const listening = () => process.stdout.write('listening\n');
if (isPath(listen)) {
  rmSync(listen, { force: true });
  server.listen(listen, listening);
} else {
  server.listen(hostPort(listen).port, hostPort(listen).host, listening);
}
process.on('SIGTERM', () => process.exit(0));
