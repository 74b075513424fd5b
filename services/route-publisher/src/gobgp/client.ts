import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  credentials,
  type Client,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Reply } from './reply.js';

/** Where Debian's golang-github-osrg-gobgp-dev puts GoBGP's API definitions. */
export const DEBIAN_PROTO_DIR = '/usr/share/gocode/src/github.com/osrg/gobgp/api';

/** A request to gobgpd, typed by its builder in `messages.ts` (proto3 JSON form, `keepCase`). */
export type Request = object;

const isService = (value: unknown): value is ServiceClientConstructor =>
  typeof value === 'function' && 'service' in value;

/**
 * The GobgpApi service over gRPC, with one typed helper per call shape. gobgpd's API has no
 * authentication, so the target must be a Unix socket or a loopback address.
 */
export class GobgpClient {
  readonly #client: Client;
  readonly #service: ServiceClientConstructor['service'];

  constructor(target: string, protoDir: string = DEBIAN_PROTO_DIR) {
    assertLocalTarget(target);
    const files = ['gobgp.proto', 'attribute.proto', 'capability.proto'];
    const missing = files.filter((f) => !existsSync(join(protoDir, f)));
    if (missing.length > 0)
      throw new Error(
        `GoBGP's API definitions ${missing.join(', ')} are not in ${protoDir}: apt-get install golang-github-osrg-gobgp-dev, or point BERTH_GOBGP_PROTO_DIR at a folder with GoBGP v3's api/*.proto`,
      );
    const definition = loadSync(files, {
      includeDirs: [protoDir],
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: false,
      oneofs: true,
      json: true,
    });
    const apipb = loadPackageDefinition(definition)['apipb'];
    const Api: unknown = apipb === undefined ? undefined : Reflect.get(apipb, 'GobgpApi');
    if (!isService(Api)) throw new Error(`no apipb.GobgpApi service in the protos under ${protoDir}`);
    this.#service = Api.service;
    this.#client = new Api(target, credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.keepalive_time_ms': 10_000,
    });
  }

  unary(method: string, request: Request, timeoutMs = 30_000): Promise<Reply> {
    const def = this.#method(method);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        (bytes: Buffer): unknown => def.responseDeserialize(bytes),
        request,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          if (error !== null) reject(new GobgpError(method, error));
          else resolve(new Reply(response));
        },
      );
    });
  }

  /** A server stream, yielded message by message; aborting `signal` cancels it. */
  async *stream(method: string, request: Request, signal?: AbortSignal): AsyncGenerator<Reply> {
    const def = this.#method(method);
    const call = this.#client.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      (bytes: Buffer): unknown => def.responseDeserialize(bytes),
      request,
    );
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of call) yield new Reply(message);
    } catch (error) {
      if (signal?.aborted === true) return;
      throw new GobgpError(method, error);
    } finally {
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  /** A client stream: sends every request, then waits for the single reply. */
  clientStream(method: string, requests: Iterable<Request>, timeoutMs = 120_000): Promise<void> {
    const def = this.#method(method);
    return new Promise((resolve, reject) => {
      const call = this.#client.makeClientStreamRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error) => {
          if (error !== null) reject(new GobgpError(method, error));
          else resolve();
        },
      );
      for (const request of requests) call.write(request);
      call.end();
    });
  }

  close(): void {
    this.#client.close();
  }

  #method(name: string) {
    const def = this.#service[name];
    if (def === undefined) throw new Error(`GobgpApi has no method ${name}`);
    return def;
  }
}

/** A failed GoBGP call; GoBGP reports every failure as code 2 with a text message. */
export class GobgpError extends Error {
  readonly code: number | undefined;
  constructor(method: string, cause: unknown) {
    // grpc-js's ServiceError carries both as own fields.
    const error = new Reply(cause);
    const details = error.text('details');
    super(`GoBGP ${method} failed: ${details !== undefined && details !== '' ? details : String(cause)}`, { cause });
    this.name = 'GobgpError';
    this.code = error.number('code');
  }
}

function assertLocalTarget(target: string): void {
  if (target.startsWith('unix:')) return;
  const host = target
    .replace(/^dns:\/{0,3}/, '')
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '');
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') return;
  throw new Error(
    `GoBGP target ${target} is not local: gobgpd's API has no authentication, so reach it on a Unix socket (unix:///run/gobgp/gobgp.sock) or on loopback (127.0.0.1:50051)`,
  );
}
