import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, env, loadConfig } from './config.js';

const spec = {
  port: env.port('BERTH_HEALTH_PORT', 9100),
  servers: env.list('BERTH_NATS_SERVERS'),
  mode: env.oneOf('BERTH_MODE', ['bgp', 'layer2'], 'bgp'),
  verbose: env.boolean('BERTH_VERBOSE', false),
  ca: env.file('BERTH_NATS_TLS_CA'),
};

function problemsOf(source: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(spec, source);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'BERTH_CONFIG_INVALID');
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('config - loading', () => {
  it('applies defaults and parses what is set', () => {
    const config = loadConfig(spec, {
      BERTH_NATS_SERVERS: 'nats://127.0.0.1:4222, nats://127.0.0.1:4223',
      BERTH_VERBOSE: '1',
    });
    assert.deepEqual(config, {
      port: 9100,
      servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'],
      mode: 'bgp',
      verbose: true,
      ca: undefined,
    });
  });

  const bad: { desc: string; source: NodeJS.ProcessEnv; names: RegExp }[] = [
    {
      desc: 'a port that is not a number',
      source: { BERTH_HEALTH_PORT: 'abc' },
      names: /^BERTH_HEALTH_PORT="abc" is not valid: it must be an integer from 0 to 65535$/,
    },
    { desc: 'a port out of range', source: { BERTH_HEALTH_PORT: '70000' }, names: /^BERTH_HEALTH_PORT="70000"/ },
    {
      desc: 'a value outside the choices',
      source: { BERTH_MODE: 'ospf' },
      names: /^BERTH_MODE="ospf" is not valid: it must be one of bgp, layer2$/,
    },
    { desc: 'a boolean that is neither', source: { BERTH_VERBOSE: 'yes' }, names: /^BERTH_VERBOSE="yes"/ },
    {
      desc: 'a file that does not exist',
      source: { BERTH_NATS_TLS_CA: '/nonexistent/ca.pem' },
      names: /^BERTH_NATS_TLS_CA=.* the path of a readable file$/,
    },
    { desc: 'an empty list', source: { BERTH_NATS_SERVERS: ' , ' }, names: /^BERTH_NATS_SERVERS=" , "/ },
  ];
  for (const { desc, source, names } of bad) {
    it(`names the variable when given ${desc}`, () => {
      const problems = problemsOf({ BERTH_NATS_SERVERS: 'nats://127.0.0.1:4222', ...source });
      assert.equal(problems.length, 1, problems.join('; '));
      assert.match(problems[0] ?? '', names);
    });
  }

  it('says a required variable is missing, and reports every problem at once', () => {
    const problems = problemsOf({ BERTH_HEALTH_PORT: '-1' });
    assert.deepEqual(problems, [
      'BERTH_HEALTH_PORT="-1" is not valid: it must be an integer from 0 to 65535',
      'BERTH_NATS_SERVERS is required: set it to a comma-separated list',
    ]);
  });
});
