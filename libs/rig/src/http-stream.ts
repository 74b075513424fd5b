/**
 * A steady stream of HTTP GETs, one every INTERVAL_MS for DURATION_MS (or until SIGTERM), each with
 * its own connection and a timeout of TIMEOUT_MS; run inside a lab host. Prints one JSON line at
 * the end: requests sent and failed, the longest time without an answer, and how many answers
 * each body got.
 * Usage: node http-stream.js URL DURATION_MS INTERVAL_MS TIMEOUT_MS
 */
import { request } from 'node:http';

const [url, durationArg, intervalArg, timeoutArg] = process.argv.slice(2);
if (url === undefined) {
  process.stderr.write('usage: http-stream URL DURATION_MS INTERVAL_MS TIMEOUT_MS\n');
  process.exit(2);
}
const duration = Number(durationArg ?? '10000');
const interval = Number(intervalArg ?? '20');
const timeout = Number(timeoutArg ?? '500');

function get(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(url ?? '', { agent: false, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const stopped = new AbortController();
process.once('SIGTERM', () => stopped.abort());

const began = Date.now();
let sent = 0;
let failed = 0;
let lastAnswer = began;
let longestGapMs = 0;
const answers: Record<string, number> = {};
const pending: Promise<void>[] = [];
while (!stopped.signal.aborted && Date.now() - began < duration) {
  sent++;
  pending.push(
    get().then((body) => {
      const now = Date.now();
      if (body === undefined) {
        failed++;
        return;
      }
      longestGapMs = Math.max(longestGapMs, now - lastAnswer);
      lastAnswer = now;
      answers[body] = (answers[body] ?? 0) + 1;
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, interval));
}
await Promise.all(pending);
longestGapMs = Math.max(longestGapMs, Date.now() - lastAnswer);
process.stdout.write(`${JSON.stringify({ sent, failed, longestGapMs, answers })}\n`);
