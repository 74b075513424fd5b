import { decode, encodeAuthorizationResponse, encodeUser, type AuthorizationRequest } from '@nats-io/jwt';
import { fromPublic, type KeyPair } from '@nats-io/nkeys';
import type { Msg, NatsConnection } from 'nats';
import { AUTH_CALLOUT_SUBJECT, type NatsPermissions } from '@berth/bus';
import type { Logger } from '@berth/runtime';

/** Who a connecting client is, once its credential has been checked; or why it is nobody. */
export type Verdict =
  | {
      readonly ok: true;
      /** The user's name in the server's monitoring, e.g. `node-agent:node-1`. */
      readonly name: string;
      readonly permissions: NatsPermissions;
      /** The client must authenticate again after this (seconds since the epoch): its token's expiry. */
      readonly expiresAt?: number;
      /** What the logs say about whom it is (never the credential). */
      readonly about: Record<string, string>;
    }
  | { readonly ok: false; readonly reason: string };

/** Judges one connecting client by the token it presented (undefined: it presented none). */
export type Judge = (token: string | undefined) => Promise<Verdict>;

/** The audience nats-server signs its authorization requests for. */
const REQUEST_AUDIENCE = 'nats-authorization-request';
/** The account the vouched-for users join: the server's global one (its configuration has no others). */
const ACCOUNT = '$G';

/**
 * Answers nats-server's auth callout until `signal` aborts: each request names a connecting client
 * and what it presented; `judge` decides, and the answer is a user signed by `issuer` (which the
 * server trusts) with the verdict's permissions, or a refusal with its reason.
 */
export async function answerCallouts(
  nc: NatsConnection,
  issuer: KeyPair,
  judge: Judge,
  logger: Logger,
  onDecision: (result: 'admitted' | 'refused' | 'invalid') => void,
  signal: AbortSignal,
): Promise<void> {
  // Not a queue group: every replica answers each request and the server takes the first answer.
  // A queue group would hand some requests to a replica lost with its node, whose subscription the
  // servers keep until they notice, and node-agents reconnecting then would wait seconds to get in.
  const sub = nc.subscribe(AUTH_CALLOUT_SUBJECT);
  signal.addEventListener('abort', () => sub.unsubscribe(), { once: true });
  for await (const msg of sub) {
    try {
      onDecision(await answer(msg, issuer, judge, logger));
    } catch (error) {
      onDecision('invalid');
      logger.warn({ err: error }, 'could not answer an authorization request');
    }
  }
}

async function answer(
  msg: Msg,
  issuer: KeyPair,
  judge: Judge,
  logger: Logger,
): Promise<'admitted' | 'refused' | 'invalid'> {
  // decode() checks the request's signature against its issuer, the server's own key.
  const claims = decode<AuthorizationRequest>(new TextDecoder().decode(msg.data));
  const request = claims.nats;
  if (claims.aud !== REQUEST_AUDIENCE || request.user_nkey === undefined || request.server_id?.id === undefined) {
    logger.warn({ aud: claims.aud }, 'ignored a message that is no authorization request');
    return 'invalid';
  }
  const user = fromPublic(request.user_nkey);
  const server = fromPublic(request.server_id.id);
  const client = { host: request.client_info?.host, name: request.client_info?.name };
  const verdict = await judge(request.connect_opts?.auth_token);
  if (!verdict.ok) {
    logger.warn({ client, reason: verdict.reason }, 'refused a client of NATS');
    msg.respond(await encodeAuthorizationResponse(user, server, issuer, { error: verdict.reason }, {}));
    return 'refused';
  }
  const { permissions } = verdict;
  const jwt = await encodeUser(
    verdict.name,
    user,
    issuer,
    {
      pub: { allow: [...permissions.publish.allow] },
      sub: { allow: [...permissions.subscribe.allow] },
    },
    { aud: ACCOUNT, ...(verdict.expiresAt === undefined ? {} : { exp: verdict.expiresAt }) },
  );
  msg.respond(await encodeAuthorizationResponse(user, server, issuer, { jwt }, {}));
  logger.info({ client, user: verdict.name, ...verdict.about }, 'vouched for a client of NATS');
  return 'admitted';
}
