import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answersPerRequest, type WireFrame } from './capture.js';

const CLIENT = '02:00:00:00:00:01';
const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const VIP = '192.0.2.100';
const request = (t: number): WireFrame => ({ t, from: CLIENT, kind: 'arp-request', ip: VIP });
const reply = (t: number, mac: string): WireFrame => ({ t, from: mac, kind: 'arp-reply', ip: VIP, mac });

describe('answers per request - reading a capture', () => {
  it('counts a burst of requests answered by as many replies as all answered', () => {
    assert.deepEqual(answersPerRequest([request(0), request(0), reply(0.001, A), reply(0.001, A)], VIP, CLIENT), [
      [A],
      [A],
    ]);
  });

  it('counts a reply that comes after the next request for its own request', () => {
    const frames = [request(0), request(0.05), reply(0.06, A), reply(0.07, A), request(0.1), reply(0.1, A)];
    assert.deepEqual(answersPerRequest(frames, VIP, CLIENT), [[A], [A], [A]]);
  });

  it('sees two nodes answering one request, and a request nobody answered', () => {
    const frames = [request(0), reply(0.001, A), reply(0.002, B), request(0.05), request(2), reply(2.001, B)];
    assert.deepEqual(answersPerRequest(frames, VIP, CLIENT), [[A, B], [], [B]]);
  });

  it('does not count a reply more than a second late, nor an announcement', () => {
    const frames: WireFrame[] = [request(0), { t: 0.01, from: A, kind: 'garp', ip: VIP, mac: A }, reply(1.5, A)];
    assert.deepEqual(answersPerRequest(frames, VIP, CLIENT), [[]]);
  });
});
