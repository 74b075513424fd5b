export { bgpConfigCrd } from './bgpconfig.js';
export { bgpPeerCrd } from './bgppeer.js';
export { ipPoolCrd } from './ippool.js';
export { GROUP, VERSION } from './schema.js';
