import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '@berth/runtime';
import { KubeApiError, type KubeApi, type KubeObject, type ListPage, type WatchEventType } from '@berth/kube';
import { ListWatch } from './list-watch.js';

const obj = (name: string, rv: string): KubeObject => ({ metadata: { name, uid: name, resourceVersion: rv } });
type Step = { list: ListPage<KubeObject> } | { watch: [WatchEventType, unknown][] } | { fail: Error };

/** Plays a script of list and watch answers, recording the resourceVersions watches start from. */
function scriptedApi(steps: Step[], done: () => void): KubeApi & { watchedFrom: string[] } {
  const next = () => {
    const step = steps.shift();
    if (step === undefined) done();
    return step;
  };
  const api = {
    watchedFrom: [] as string[],
    async list() {
      const step = next();
      if (step !== undefined && 'fail' in step) throw step.fail;
      if (step === undefined || !('list' in step)) return new Promise<never>(() => undefined);
      return step.list;
    },
    async watch(_path: string, rv: string, onEvent: (t: WatchEventType, o: unknown) => void, signal: AbortSignal) {
      api.watchedFrom.push(rv);
      const step = next();
      if (step !== undefined && 'fail' in step) throw step.fail;
      if (step === undefined || !('watch' in step)) {
        if (signal.aborted) return;
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      }
      for (const [type, object] of step.watch) {
        if (signal.aborted) break;
        onEvent(type, object);
      }
    },
  };
  return api as unknown as KubeApi & { watchedFrom: string[] };
}

describe('list-watch - against a scripted API', () => {
  it('resumes from the last resourceVersion, relists on 410 reporting what vanished, and retries failures', async () => {
    const abort = new AbortController();
    const log: string[] = [];
    const api = scriptedApi(
      [
        { list: { items: [obj('a', '1'), obj('b', '2')], resourceVersion: '10' } },
        {
          watch: [
            ['MODIFIED', obj('a', '11')],
            ['BOOKMARK', { metadata: { resourceVersion: '15' } }],
          ],
        },
        { fail: new KubeApiError(500, 'InternalError', 'etcd hiccup') },
        {
          watch: [
            ['ERROR', { code: 410, message: 'too old resource version' }],
            ['ADDED', obj('never', '99')],
          ],
        },
        { list: { items: [obj('a', '11'), obj('c', '20')], resourceVersion: '21' } },
      ],
      () => abort.abort(),
    );
    const watch = new ListWatch(
      api,
      '/things',
      {
        upsert: (o) => log.push(`upsert ${o.metadata.name}@${o.metadata.resourceVersion}`),
        remove: (o) => log.push(`remove ${o.metadata.name}`),
        synced: () => log.push('synced'),
      },
      createLogger('test', 'silent'),
    );
    await watch.run(abort.signal);
    assert.deepEqual(log, ['upsert a@1', 'upsert b@2', 'synced', 'upsert a@11', 'remove b', 'upsert c@20', 'synced']);
    assert.deepEqual(api.watchedFrom, ['10', '15', '15', '21']);
    assert.deepEqual([...watch.objects.keys()], ['a', 'c']);
  });
});
