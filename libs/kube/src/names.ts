/** The Service condition Berth owns. */
export const ADDRESS_CONDITION = 'berth.dev/AddressAssigned';
/** Held on Berth's Services until their address is released (the Kubernetes convention). */
export const CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
