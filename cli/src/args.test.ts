import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs, UsageError } from './args.js';

describe('parseArgs', () => {
  const ok = [
    { desc: 'status', argv: ['status'], want: { type: 'status', json: false, kubeconfig: undefined, cluster: true } },
    {
      desc: 'status for machines, bus only',
      argv: ['status', '--json', '--no-cluster'],
      want: { type: 'status', json: true, kubeconfig: undefined, cluster: false },
    },
    {
      desc: 'explain with a kubeconfig, both spellings',
      argv: ['explain', '--kubeconfig', '/k', 'shop/web'],
      want: { type: 'explain', service: 'shop/web', json: false, kubeconfig: '/k', cluster: true },
    },
    {
      desc: 'explain, --kubeconfig=FILE',
      argv: ['explain', 'shop/web', '--kubeconfig=/k', '--json'],
      want: { type: 'explain', service: 'shop/web', json: true, kubeconfig: '/k', cluster: true },
    },
    { desc: 'help', argv: ['--help'], want: { type: 'help' } },
    { desc: 'help after a command', argv: ['explain', '-h'], want: { type: 'help' } },
  ] as const;
  for (const c of ok) it(c.desc, () => assert.deepEqual(parseArgs(c.argv), c.want));

  // Every usage error says what to write instead.
  const wrong = [
    { desc: 'nothing', argv: [], says: /no command: write berth status, or berth explain NAMESPACE\/NAME/ },
    { desc: 'an unknown command', argv: ['stats'], says: /unknown command "stats": write berth status/ },
    { desc: 'an unknown option', argv: ['status', '--wide'], says: /unknown option --wide: berth status takes --json/ },
    { desc: 'explain without a Service', argv: ['explain'], says: /write berth explain shop\/web/ },
    {
      desc: 'a Service without its namespace',
      argv: ['explain', 'web'],
      says: /"web" names no namespace: write berth explain default\/web/,
    },
    { desc: 'two slashes', argv: ['explain', 'shop/web/x'], says: /write berth explain shop\/web$/ },
    { desc: 'upper case', argv: ['explain', 'Shop/Web'], says: /write berth explain shop\/web$/ },
    { desc: 'a bad Service name', argv: ['explain', 'shop/9web'], says: /"9web" is not a Service name/ },
    { desc: 'a bad namespace', argv: ['explain', 'sh_op/web'], says: /"sh_op" is not a namespace/ },
    {
      desc: 'two Services',
      argv: ['explain', 'shop/a', 'shop/b'],
      says: /write berth explain shop\/a, once per Service/,
    },
    { desc: 'a name after status', argv: ['status', 'shop/web'], says: /write berth explain shop\/web/ },
    { desc: '--kubeconfig without a file', argv: ['status', '--kubeconfig'], says: /--kubeconfig needs a file/ },
  ];
  for (const c of wrong) {
    it(`refuses ${c.desc}, saying what to write`, () => {
      assert.throws(
        () => parseArgs(c.argv),
        (error: unknown) => error instanceof UsageError && c.says.test(error.message),
      );
    });
  }
});
