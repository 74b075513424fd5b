import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { publishedSchemas, renderSchema } from './index.js';

// The published files must work in a consumer's ordinary validator, not only in ours.
function consumerValidator(file: string) {
  const schema = publishedSchemas().get(file);
  assert.ok(schema, `no published schema ${file}`);
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(renderSchema(schema)) as object);
}

const event = {
  specversion: '1.0',
  id: 'e1',
  source: 'berth/route-publisher/rp-0',
  type: 'dev.berth.route.changed.v1',
  time: '2026-11-22T02:00:00Z',
  datacontenttype: 'application/json',
  subject: '2001:db8::10',
  data: {
    prefix: '2001:db8::10/128',
    speaker: 'rp-0',
    vip: '2001:db8::10',
    nextHops: ['2001:db8::11', '2001:db8::12'],
    communities: [],
    localPref: 100,
    service: 'shop/web',
    serviceUid: 'u1',
    pool: 'v6',
  },
};

describe('contracts - published JSON Schema', () => {
  it('every schema compiles in Ajv (draft 2020-12, strict)', () => {
    for (const file of publishedSchemas().keys()) consumerValidator(file);
  });

  it('a consumer accepts a valid route event and rejects malformed ones', () => {
    const validate = consumerValidator('dev.berth.route.changed.v1.schema.json');
    assert.equal(validate(event), true, JSON.stringify(validate.errors));
    assert.equal(validate({ ...event, subject: '2001:db8::zz' }), false);
    assert.equal(validate({ ...event, data: { ...event.data, prefix: '2001:db8::/64' } }), false);
    assert.equal(validate({ ...event, type: 'dev.berth.route.announced.v1' }), false);
  });
});
