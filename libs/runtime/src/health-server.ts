import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `/healthz` (the process runs), `/readyz` (every dependency is ready; otherwise 503 with
 * the reasons; either way with any warnings after) and `/metrics` (Prometheus text).
 */
export async function startHealthServer(options: {
  host: string;
  port: number;
  readiness: Readiness;
  registry: Registry;
}): Promise<HealthServer> {
  const { readiness, registry } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = readiness.isReady;
      const lines = [...(ready ? ['ok'] : readiness.reasons()), ...readiness.warnings().map((w) => `warning: ${w}`)];
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${lines.join('\n')}\n`);
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
