// The pure part of this library, for decision code: no client is loaded with it.
export { isBerths, whyNotBerths } from './class.js';
export type { ClassPolicy, NotBerths } from './class.js';
export { ADDRESS_CONDITION, CLEANUP_FINALIZER } from './names.js';
