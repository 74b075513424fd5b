import type { EndpointsSnapshot } from '@berth/contracts';
import type { EndpointSliceObject } from './objects.js';
import { withRevision } from './revision.js';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** `namespace/service` of a slice, or undefined for a slice that belongs to no Service. */
export function sliceServiceKey(slice: EndpointSliceObject): string | undefined {
  const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return service === undefined ? undefined : `${slice.metadata.namespace ?? 'default'}/${service}`;
}

/**
 * Folds every EndpointSlice of one Service into ready endpoints per node. An endpoint whose
 * `ready` is unset counts as ready (the API's rule); one with no node cannot be routed to and is
 * left out.
 */
export function endpointsSnapshot(serviceKey: string, slices: readonly EndpointSliceObject[]): EndpointsSnapshot {
  const readyByNode: Record<string, number> = {};
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.nodeName === undefined || endpoint.conditions?.ready === false) continue;
      readyByNode[endpoint.nodeName] = (readyByNode[endpoint.nodeName] ?? 0) + 1;
    }
  }
  // Sorted, so the same counts give the same snapshot (and revision) whatever the slice order.
  const sorted = Object.fromEntries(Object.entries(readyByNode).sort(([a], [b]) => a.localeCompare(b)));
  return withRevision<EndpointsSnapshot>({ v: 1, key: serviceKey, readyByNode: sorted });
}
