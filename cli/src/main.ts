#!/usr/bin/env node
import { run } from './run.js';

const code = await run(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
// Exit at once: the bus connection drains in the background and must not hold the answer back.
// (Writes to pipes and files are synchronous on Linux, so nothing printed is lost.)
process.exit(code);
