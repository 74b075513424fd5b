import type {
  AllocationSnapshot,
  EndpointsSnapshot,
  NodeSnapshot,
  PoolSnapshot,
  ServiceSnapshot,
} from '@berth/contracts';

/** What every serving decision reads: the bus's snapshots, as route-publisher, node-agent and `berth` hold them. */
export interface ServingInputs {
  readonly allocations: ReadonlyMap<string, AllocationSnapshot>;
  readonly services: ReadonlyMap<string, ServiceSnapshot>;
  readonly endpoints: ReadonlyMap<string, EndpointsSnapshot>;
  readonly nodes: ReadonlyMap<string, NodeSnapshot>;
  readonly pools: ReadonlyMap<string, PoolSnapshot>;
}

/**
 * The snapshots and the nodes judged healthy (by `NodeHealth`), each with the interfaces its agent
 * said it answers on: what `desiredRoutes` and `electOwners` decide from.
 */
export interface DecisionInputs extends ServingInputs {
  readonly healthy: ReadonlyMap<string, readonly string[]>;
}

type Assigned = Extract<AllocationSnapshot['result'], { type: 'assigned' }>;

/** An assigned allocation whose Service is live and is still the one it was made for. */
export interface LiveAllocation {
  readonly key: string;
  readonly result: Assigned;
  readonly service: ServiceSnapshot;
}

/**
 * The allocations that still serve: assigned, and held by a live Service of the same UID (not a
 * deleted Service's namesake, nor one being deleted). `mode` keeps only BGP or layer-2 ones.
 */
export function liveAllocations(
  inputs: Pick<ServingInputs, 'allocations' | 'services'>,
  mode?: Assigned['mode'],
): LiveAllocation[] {
  const live: LiveAllocation[] = [];
  for (const allocation of inputs.allocations.values()) {
    const { result } = allocation;
    if (result.type !== 'assigned' || (mode !== undefined && result.mode !== mode)) continue;
    const service = inputs.services.get(allocation.key);
    if (service === undefined || service.deleting || service.uid !== allocation.serviceUid) continue;
    live.push({ key: allocation.key, result, service });
  }
  return live;
}
