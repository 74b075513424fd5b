import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { berthImage, chartAppVersion, composeSchemaFile, type BerthImageName } from '@berth/rig';
import { ROOT, variablesRead } from './variables.js';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  command?: string[];
  network_mode?: string;
  cap_add?: string[];
  cap_drop?: string[];
  read_only?: boolean;
  security_opt?: string[];
  ports?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
}

function compileSchema(): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(composeSchemaFile(), 'utf8')) as object);
}

describe('docker-compose.yml', () => {
  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  // Anchors and merge keys resolved, as Compose reads the file.
  const compose = parse(text, { merge: true }) as Compose;
  const validate = compileSchema();

  it('is valid against the Compose Specification schema', () => {
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
  });

  it('the schema check catches a mistake (it is not a check that cannot fail)', () => {
    const broken = structuredClone(compose);
    (broken.services['ipam'] as unknown as Record<string, unknown>)['healthcheck'] = { tset: ['CMD', 'true'] };
    assert.equal(validate(broken), false);
  });

  it('runs NATS, Redis, gobgpd and the four services, each with a healthcheck and an existing Dockerfile target', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'gobgpd',
      'ipam',
      'nats',
      'node-agent',
      'redis',
      'route-publisher',
      'watcher',
    ]);
    for (const [name, service] of Object.entries(compose.services)) {
      assert.ok(service.healthcheck?.test.length, `${name} has a healthcheck`);
      if (service.build !== undefined) {
        const dockerfile = join(ROOT, service.build.context, service.build.dockerfile);
        assert.ok(existsSync(dockerfile), `${name}: ${dockerfile} exists`);
        const { target } = service.build;
        if (target !== undefined)
          assert.match(
            readFileSync(dockerfile, 'utf8'),
            new RegExp(`^FROM \\S+ AS ${target}$`, 'm'),
            `${name}: target`,
          );
        // What scripts/images tags by default, so that `docker compose up` finds what it built.
        assert.equal(
          service.image,
          berthImage(name as BerthImageName).replace(/:[^:]+$/, `:\${BERTH_VERSION:-${chartAppVersion()}}`),
        );
      }
    }
  });

  it("takes NATS's and Redis's images from variables, Docker Hub's by default", () => {
    assert.equal(compose.services['nats']?.image, '${BERTH_NATS_IMAGE:-nats:2.11-alpine}');
    assert.equal(compose.services['redis']?.image, '${BERTH_REDIS_IMAGE:-redis:7-alpine}');
  });

  it('sets only variables Berth reads, and keeps the privileges small', () => {
    const known = variablesRead();
    for (const [name, service] of Object.entries(compose.services)) {
      for (const variable of Object.keys(service.environment ?? {}).filter((v) => v.startsWith('BERTH_'))) {
        assert.ok(known.has(variable), `${name} sets ${variable}, which nothing reads`);
      }
    }
    const { gobgpd, 'node-agent': agent, nats } = compose.services;
    // gobgpd's API has no authentication: a Unix socket only.
    assert.ok(gobgpd?.command?.includes('--api-hosts=unix:///run/gobgp/gobgp.sock'));
    assert.deepEqual(agent?.cap_add, ['NET_RAW']);
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== undefined) {
        assert.deepEqual(service.cap_drop, ['ALL'], `${name} drops every capability`);
        assert.equal(service.read_only, true, `${name} has a read-only ROOT file system`);
        // no-new-privileges voids file capabilities, which the images of the two that add one use.
        const noNewPrivileges = service.security_opt?.includes('no-new-privileges:true') ?? false;
        assert.equal(noNewPrivileges, service.cap_add === undefined, `${name}: no-new-privileges unless it adds a cap`);
      }
    }
    assert.ok(
      nats?.ports?.every((p) => p.startsWith('127.0.0.1:')),
      'NATS is published on loopback only',
    );
  });
});
