import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AllocationSnapshot, RouteAnnouncedEvent, ServiceSnapshot, validator } from './index.js';

const service = {
  v: 1,
  key: 'shop/web',
  revision: '4711',
  uid: '0b7c5c9e-2f0e-4a43-9d0e-6f1f6f6a1a01',
  namespace: 'shop',
  name: 'web',
  labels: { app: 'web' },
  annotations: { 'berth.dev/pool': 'public' },
  ipFamilies: ['IPv4', 'IPv6'],
  ipFamilyPolicy: 'RequireDualStack',
  externalTrafficPolicy: 'Local',
  ports: [{ protocol: 'TCP', port: 443 }],
  selector: { app: 'web' },
  ingress: ['192.0.2.10', '2001:db8::10'],
  deleting: false,
};

const route = {
  specversion: '1.0',
  id: 'b1f1b2d4-1',
  source: 'berth/route-publisher/rp-0',
  type: 'dev.berth.route.announced.v1',
  time: '2026-11-22T02:00:00.000Z',
  datacontenttype: 'application/json',
  subject: '203.0.113.10',
  data: {
    prefix: '203.0.113.10/32',
    speaker: 'central',
    vip: '203.0.113.10',
    nextHops: ['192.0.2.11', '192.0.2.12'],
    communities: ['65000:100'],
    service: 'shop/web',
    serviceUid: 'u1',
    pool: 'public',
  },
};

describe('contracts - validation', () => {
  it('accepts a well-formed Service snapshot and route event', () => {
    assert.deepEqual(validator(ServiceSnapshot).check(service), { ok: true, value: service });
    assert.equal(validator(RouteAnnouncedEvent).check(route).ok, true);
  });

  const malformed: { desc: string; schema: Parameters<typeof validator>[0]; input: unknown; problem: RegExp }[] = [
    { desc: 'wrong contract version', schema: ServiceSnapshot, input: { ...service, v: 2 }, problem: /^\/v: / },
    {
      desc: 'key that is not namespace/name',
      schema: ServiceSnapshot,
      input: { ...service, key: 'web' },
      problem: /^\/key: /,
    },
    {
      desc: 'address that is not an IP',
      schema: ServiceSnapshot,
      input: { ...service, ingress: ['192.0.2.300'] },
      problem: /^\/ingress\/0: /,
    },
    {
      desc: 'IPv6 with a zone',
      schema: ServiceSnapshot,
      input: { ...service, ingress: ['fe80::1%eth0'] },
      problem: /^\/ingress\/0: /,
    },
    {
      desc: 'port out of range',
      schema: ServiceSnapshot,
      input: { ...service, ports: [{ protocol: 'TCP', port: 70000 }] },
      problem: /^\/ports\/0\/port: /,
    },
    { desc: 'unknown field', schema: ServiceSnapshot, input: { ...service, extra: true }, problem: /^\/extra: / },
    { desc: 'missing field', schema: ServiceSnapshot, input: { ...service, uid: undefined }, problem: /^\/uid: / },
    {
      desc: 'refusal with an unknown reason',
      schema: AllocationSnapshot,
      input: {
        v: 1,
        key: 'a/b',
        revision: '1',
        serviceUid: 'u',
        result: { type: 'refused', reason: 'Nope', message: 'x' },
      },
      problem: /^\/result/,
    },
    {
      desc: 'event with the wrong type',
      schema: RouteAnnouncedEvent,
      input: { ...route, type: 'dev.berth.route.withdrawn.v1' },
      problem: /^\/type: /,
    },
    {
      desc: 'event with a non-host prefix',
      schema: RouteAnnouncedEvent,
      input: { ...route, data: { ...route.data, prefix: '203.0.113.0/24' } },
      problem: /^\/data\/prefix: /,
    },
    {
      desc: 'event with a bad time',
      schema: RouteAnnouncedEvent,
      input: { ...route, time: 'yesterday' },
      problem: /^\/time: /,
    },
    { desc: 'not an object at all', schema: ServiceSnapshot, input: 'shop/web', problem: /^\/: / },
  ];
  for (const { desc, schema, input, problem } of malformed) {
    it(`rejects ${desc}, naming where`, () => {
      const result = validator(schema).check(input);
      if (result.ok) assert.fail(`accepted ${JSON.stringify(input)}`);
      assert.ok(
        result.problems.some((p) => problem.test(p)),
        result.problems.join('; '),
      );
    });
  }

  it('decode reports malformed JSON as a problem instead of throwing', () => {
    const result = validator(ServiceSnapshot).decode(new TextEncoder().encode('{"v":1,'));
    if (result.ok) assert.fail('accepted malformed JSON');
    assert.match(result.problems[0] ?? '', /^not JSON: /);
  });

  it('decode accepts the JSON encoding of a valid message', () => {
    assert.deepEqual(validator(ServiceSnapshot).decode(JSON.stringify(service)), { ok: true, value: service });
  });
});
