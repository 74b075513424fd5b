// Answers every HTTP request with the pod's name (a pod's hostname), so a client sees which pod
// a request reached. SIGTERM stops it after the connections it serves are done.
import { createServer } from 'node:http';
import { hostname } from 'node:os';

const port = Number(process.env.PORT ?? '8080');
const name = hostname();
const server = createServer((_request, response) => {
  response.setHeader('content-type', 'text/plain');
  response.end(`${name}\n`);
});
server.listen(port, '::');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
