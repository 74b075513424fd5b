import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeSource, SERVICE_ACCOUNT_TOKEN } from './kube-source.js';

describe('kubeSource', () => {
  const files = new Set(['/home/me/.kube/config', SERVICE_ACCOUNT_TOKEN]);
  const exists = (path: string) => files.has(path);
  const cases = [
    {
      desc: 'the flag first',
      flag: '/f',
      env: { BERTH_KUBECONFIG: '/b', KUBECONFIG: '/k' },
      want: { type: 'file', path: '/f', from: '--kubeconfig' },
    },
    {
      desc: 'then BERTH_KUBECONFIG',
      flag: undefined,
      env: { BERTH_KUBECONFIG: '/b', KUBECONFIG: '/k' },
      want: { type: 'file', path: '/b', from: 'BERTH_KUBECONFIG' },
    },
    {
      desc: 'then KUBECONFIG',
      flag: undefined,
      env: { KUBECONFIG: '/k:/l', HOME: '/home/me' },
      want: { type: 'KUBECONFIG' },
    },
    {
      desc: 'then ~/.kube/config',
      flag: undefined,
      env: { HOME: '/home/me', KUBERNETES_SERVICE_HOST: '10.0.0.1' },
      want: { type: 'file', path: '/home/me/.kube/config', from: '~/.kube/config' },
    },
    {
      desc: 'then the pod’s ServiceAccount',
      flag: undefined,
      env: { HOME: '/nowhere', KUBERNETES_SERVICE_HOST: '10.0.0.1' },
      want: { type: 'in-cluster' },
    },
    {
      desc: 'else none, rather than localhost:8080',
      flag: undefined,
      env: { HOME: '/nowhere' },
      want: { type: 'none' },
    },
  ] as const;
  for (const c of cases) it(c.desc, () => assert.deepEqual(kubeSource(c.flag, c.env, exists), c.want));
});
