export {
  bgpBlocker,
  bgpVipBlocker,
  byName,
  familyOf,
  layer2Blocker,
  nodeAddress,
  nodeBlocker,
  prefixOf,
  vipServices,
} from './blockers.js';
export type { Blocker, HealthBlocker, VipServices } from './blockers.js';
export { NodeHealth } from './health.js';
export type { HealthClock, HealthReason } from './health.js';
export { liveAllocations } from './inputs.js';
export type { DecisionInputs, LiveAllocation, ServingInputs } from './inputs.js';
export { electOwners, pickOwner } from './owners.js';
export type { L2Owner } from './owners.js';
export { desiredRoutes } from './routes.js';
export type { DesiredRoute, NextHop } from './routes.js';
