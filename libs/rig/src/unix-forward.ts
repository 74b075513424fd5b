/**
 * Run inside a lab host's network namespace: accepts TCP on `<host>:<port>` and carries each
 * connection to a Unix socket that a process in another namespace listens on (the file system
 * crosses namespaces, loopback does not). Usage: node unix-forward.js 127.0.0.1:4222 /path/sock
 */
import { connect, createServer } from 'node:net';

const [listen, socketPath] = process.argv.slice(2);
if (listen === undefined || socketPath === undefined) {
  process.stderr.write('usage: unix-forward <host:port> <unix socket path>\n');
  process.exit(2);
}
const colon = listen.lastIndexOf(':');
const server = createServer((client) => {
  const upstream = connect(socketPath);
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy()).on('close', () => upstream.destroy());
  upstream.on('error', () => client.destroy()).on('close', () => client.destroy());
});
server.listen(Number(listen.slice(colon + 1)), listen.slice(0, colon), () => {
  process.stdout.write('listening\n');
});
process.on('SIGTERM', () => process.exit(0));
