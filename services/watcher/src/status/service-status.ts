import { bounded, type AllocationSnapshot } from '@berth/contracts';
import type { Condition, ServiceObject } from '../snapshots/objects.js';

import { ADDRESS_CONDITION, CLEANUP_FINALIZER } from '@berth/kube/rules';

/** What Berth's fields of a Service's status should be: written with server-side apply. */
export interface StatusWrite {
  ingress: { ip: string; ipMode: 'VIP' }[];
  condition: Condition;
}

export interface ServiceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

/** What to do about one Service, given ipam's decision; each part absent when nothing is due. */
export interface StatusDecision {
  write?: StatusWrite;
  event?: ServiceEvent;
}

/**
 * Compares a Service's status with ipam's allocation for it. An allocation for another UID (a
 * deleted Service's namesake) or none at all decides nothing. The transition time only moves
 * when the condition's status does; an Event is due when the condition changes.
 */
export function decideStatus(
  service: ServiceObject,
  allocation: AllocationSnapshot | undefined,
  now: Date,
): StatusDecision {
  if (allocation === undefined || allocation.serviceUid !== service.metadata.uid) return {};
  const result = allocation.result;
  const assigned = result.type === 'assigned';
  const ingress = assigned ? result.addresses.map((ip) => ({ ip, ipMode: 'VIP' as const })) : [];
  const wanted = assigned
    ? {
        status: 'True' as const,
        reason: result.outsidePool === true ? 'AssignedOutsidePool' : 'Assigned',
        message: `${result.addresses.join(', ')} from pool ${result.pool}${result.outsidePool === true ? ' (no longer inside any pool; kept)' : ''}`,
      }
    : { status: 'False' as const, reason: result.reason, message: bounded(result.message) };

  const current = service.status?.conditions?.find((c) => c.type === ADDRESS_CONDITION);
  const currentIngress = (service.status?.loadBalancer?.ingress ?? []).map((i) => `${i.ip ?? ''}/${i.ipMode ?? ''}`);
  const sameIngress = JSON.stringify(currentIngress) === JSON.stringify(ingress.map((i) => `${i.ip}/VIP`));
  const sameCondition =
    current?.status === wanted.status && current.reason === wanted.reason && current.message === wanted.message;
  if (sameIngress && sameCondition) return {};

  const condition: Condition = {
    type: ADDRESS_CONDITION,
    ...wanted,
    lastTransitionTime:
      current?.status === wanted.status ? current.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(service.metadata.generation === undefined ? {} : { observedGeneration: service.metadata.generation }),
  };
  return {
    write: { ingress, condition },
    ...(sameCondition
      ? {}
      : {
          event: assigned
            ? { type: 'Normal', reason: 'AddressAssigned', note: `Assigned ${wanted.message}` }
            : { type: 'Warning', reason: wanted.reason, note: wanted.message },
        }),
  };
}

/** What releasing a Service takes back (Berth uninstalled): its status fields, and the finalizer when present. */
export interface ReleaseDecision {
  finalizers?: string[];
}

/**
 * Whether a Service carries anything of Berth's once Berth is gone: every Service of Berth's
 * class, and any other that still has Berth's condition (its class changed). Its finalizer goes
 * too, as nothing is left to release the address.
 */
export function decideRelease(service: ServiceObject, ours: boolean): ReleaseDecision | undefined {
  const marked = service.status?.conditions?.some((c) => c.type === ADDRESS_CONDITION) === true;
  if (!ours && !marked) return undefined;
  const finalizers = decideFinalizers(service, false, undefined);
  return finalizers === undefined ? {} : { finalizers };
}

/** The finalizer list to write, or undefined when it is already right. */
export function decideFinalizers(
  service: ServiceObject,
  ours: boolean,
  allocation: AllocationSnapshot | undefined,
): string[] | undefined {
  const finalizers = service.metadata.finalizers ?? [];
  const has = finalizers.includes(CLEANUP_FINALIZER);
  const leased = allocation?.serviceUid === service.metadata.uid && allocation.result.type === 'assigned';
  const leaving = !ours || service.metadata.deletionTimestamp !== undefined;
  if (!leaving && !has) return [...finalizers, CLEANUP_FINALIZER];
  // Released (or never leased): nothing left to hold the Service for.
  if (leaving && has && !leased) return finalizers.filter((f) => f !== CLEANUP_FINALIZER);
  return undefined;
}
