/** What the API server said of a token (a TokenReview's status), as far as bus-auth reads it. */
export interface TokenReviewStatus {
  readonly authenticated?: boolean;
  readonly error?: string;
  readonly audiences?: readonly string[];
  readonly user?: { readonly username?: string; readonly extra?: Readonly<Record<string, readonly string[]>> };
}

/** Whose tokens speak for a node: the node-agent's ServiceAccount, for Berth's NATS alone. */
export interface NodeAgentPolicy {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The audience the node-agent's projected token is made for, and no other token has. */
  readonly audience: string;
}

export type Admission =
  | { readonly admitted: true; readonly node: string; readonly pod: string }
  | { readonly admitted: false; readonly reason: string };

/** The claims the API server adds for a token bound to a pod (Kubernetes 1.32 and later). */
const NODE_NAME = 'authentication.kubernetes.io/node-name';
const POD_NAME = 'authentication.kubernetes.io/pod-name';

/**
 * Whether a reviewed token is a node-agent's, and for which node: only a token of the node-agent's
 * ServiceAccount, made for Berth's NATS and bound to a pod, speaks for the node that pod runs on.
 * An application's token, one for the API server, or one not bound to a pod speaks for none.
 */
export function admitNodeAgent(status: TokenReviewStatus, policy: NodeAgentPolicy): Admission {
  if (status.authenticated !== true)
    return {
      admitted: false,
      reason: `the API server did not accept the token${status.error ? `: ${status.error}` : ''}`,
    };
  if (!(status.audiences ?? []).includes(policy.audience))
    return { admitted: false, reason: `the token is not for ${policy.audience}` };
  const want = `system:serviceaccount:${policy.namespace}:${policy.serviceAccount}`;
  const username = status.user?.username ?? '';
  if (username !== want) return { admitted: false, reason: `the token is ${username || 'nobody'}'s, not ${want}'s` };
  const [node, ...moreNodes] = status.user?.extra?.[NODE_NAME] ?? [];
  const [pod] = status.user?.extra?.[POD_NAME] ?? [];
  if (node === undefined || node === '' || moreNodes.length > 0 || pod === undefined)
    return { admitted: false, reason: 'the token is not bound to a pod on a node (mount a projected token)' };
  return { admitted: true, node, pod };
}

/**
 * When a JWT (a reviewed ServiceAccount token) expires, in seconds since the epoch; undefined when
 * it says nothing readable. Its signature is the API server's business: it has reviewed it.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof claims !== 'object' || claims === null || !('exp' in claims)) return undefined;
    return typeof claims.exp === 'number' && Number.isInteger(claims.exp) ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}
