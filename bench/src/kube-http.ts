import { Agent, request } from 'node:https';
import type { RigControlPlane } from '@berth/rig';

/** Raw admin requests to the rig's API server, for creating load quickly. */
export function kubeHttp(kube: RigControlPlane) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: kube.caPem });
  const send = (method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${kube.server}${path}`,
        {
          method,
          agent,
          headers: { authorization: `Bearer ${kube.tokens.admin}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return {
    async create(path: string, body: unknown): Promise<void> {
      const { status, text } = await send('POST', path, body);
      if (status !== 201) throw new Error(`POST ${path}: ${status} ${text}`);
    },
    /** Streams watch events of `path` to `onEvent` until the returned function is called. */
    watch(path: string, onEvent: (type: string, object: unknown) => void): () => void {
      const req = request(`${kube.server}${path}${path.includes('?') ? '&' : '?'}watch=true`, {
        agent,
        headers: { authorization: `Bearer ${kube.tokens.admin}` },
      });
      req.on('response', (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let newline;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const event = JSON.parse(buffer.slice(0, newline)) as { type: string; object: unknown };
            buffer = buffer.slice(newline + 1);
            onEvent(event.type, event.object);
          }
        });
      });
      req.on('error', () => undefined);
      req.end();
      return () => req.destroy();
    },
    close: () => agent.destroy(),
  };
}

/** Runs `task` for 0..count-1 with at most `concurrency` at once. */
export async function inParallel(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
