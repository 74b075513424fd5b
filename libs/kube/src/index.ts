export { HttpKubeApi, KubeApiError, kubeApiFor } from './api.js';
export type { KubeApi, KubeObject, ListPage, ObjectMeta, WatchEventType } from './api.js';
export * from './rules.js';
