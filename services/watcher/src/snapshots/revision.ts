import { createHash } from 'node:crypto';

/**
 * A snapshot's revision from its content: equal content, equal revision. Kubernetes'
 * resourceVersion would change with every metadata or heartbeat update Berth does not publish
 * (a Node's status every few seconds), and each change would cost a write on the bus.
 */
export function withRevision<S extends { v: 1; key: string; revision: string }>(content: Omit<S, 'revision'>): S {
  const revision = createHash('sha256').update(JSON.stringify(content)).digest('base64url').slice(0, 16);
  const { v, key, ...rest } = content;
  return { v, key, revision, ...rest } as unknown as S;
}
