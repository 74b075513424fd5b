import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostOf, ServerAddresses } from './server-addresses.js';

describe('server addresses - resolving NATS servers when DNS may be down', () => {
  it('answers with what DNS says while it answers, and with its last answer once it cannot', async () => {
    let answer: () => Promise<string[]> = () => Promise.resolve(['198.18.0.1']);
    const addresses = new ServerAddresses((name) => (name === 'nats-0' ? answer() : Promise.reject(new Error('NX'))));
    assert.deepEqual(await addresses.resolve('nats-0'), ['198.18.0.1']);
    answer = () => Promise.resolve(['198.18.0.2', '2001:db8::2']);
    assert.deepEqual(await addresses.resolve('nats-0'), ['198.18.0.2', '2001:db8::2'], 'a new answer replaces the old');
    answer = () => Promise.reject(new Error('ETIMEOUT'));
    assert.deepEqual(await addresses.resolve('nats-0'), ['198.18.0.2', '2001:db8::2'], 'DNS silent: the last answer');
    answer = () => Promise.resolve([]);
    assert.deepEqual(await addresses.resolve('nats-0'), ['198.18.0.2', '2001:db8::2'], 'no records: the last answer');
    assert.deepEqual(await addresses.resolve('nats-1'), ['nats-1'], 'never answered: the name, for the system to try');
  });

  it('learns every server’s name up front, from the URLs as nats.js takes them', async () => {
    const asked: string[] = [];
    const addresses = new ServerAddresses((name) => {
      asked.push(name);
      return Promise.resolve(['198.18.0.9']);
    });
    await addresses.learn(['tls://nats-0.berth.svc:4222', 'nats-1:4222', 'nats://[2001:db8::1]:4222']);
    assert.deepEqual(asked.sort(), ['nats-0.berth.svc', 'nats-1'], 'an address needs no question');
    assert.equal(hostOf('127.0.0.1:4222'), '127.0.0.1');
  });
});
