import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, createLogger, Readiness } from '@berth/runtime';
import { connectRedis, type RedisConfig } from './connect.js';

const base: RedisConfig = { redisUrl: 'redis://127.0.0.1:6379', redisSentinels: [], redisSentinelMaster: 'berth' };
const refused = (config: Partial<RedisConfig>, message: RegExp) =>
  assert.throws(
    () => connectRedis({ ...base, ...config }, createLogger('test', 'silent'), new Readiness()),
    (error: unknown) => error instanceof ConfigError && message.test(error.message),
  );

describe('redis connection settings', () => {
  it('refuses what is not a redis:// or rediss:// URL, naming the variable and what to write', () => {
    refused(
      { redisUrl: 'localhost:6379' },
      /BERTH_REDIS_URL: .* must start with redis:\/\/ \(or rediss:\/\/ for TLS\)/,
    );
    refused(
      { redisUrl: 'redis://[nope' },
      /BERTH_REDIS_URL: "redis:\/\/\[nope" is not a URL: write redis:\/\/host:port/,
    );
    refused({ redisSentinels: ['redis://s1:26379', 'http://s2:26379'] }, /BERTH_REDIS_SENTINELS: "http:\/\/s2:26379"/);
  });

  it('refuses sentinels that mix plain and TLS connections', () => {
    refused(
      { redisSentinels: ['redis://s1:26379', 'rediss://s2:26379'] },
      /BERTH_REDIS_SENTINELS mixes redis:\/\/ and rediss:\/\/: use rediss:\/\/ for all .* or for none/,
    );
  });
});
