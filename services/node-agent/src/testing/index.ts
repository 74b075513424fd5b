export { L2Lab, NODE_AGENT_MAIN } from './l2-lab.js';
export type { L2LabOptions } from './l2-lab.js';
export { answersPerRequest, parseCapture } from './capture.js';
export type { WireFrame } from './capture.js';
export { layer2Watcher } from './layer2-watch.js';
