import type { KubeObject } from '@berth/kube';

// The fields of each Kubernetes object the watcher reads; everything else is ignored.

export interface ServiceObject extends KubeObject {
  spec?: {
    type?: string;
    loadBalancerClass?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    externalTrafficPolicy?: string;
    loadBalancerIP?: string;
    ports?: { protocol?: string | undefined; port: number }[];
    selector?: Record<string, string>;
  };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: string }[] };
    conditions?: Condition[];
  };
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface EndpointSliceObject extends KubeObject {
  endpoints?: { nodeName?: string; conditions?: { ready?: boolean | null } }[] | null | undefined;
}

export interface NodeObject extends KubeObject {
  status?: {
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string }[];
  };
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface IPPoolObject extends KubeObject {
  spec: {
    addresses: string[];
    mode: 'bgp' | 'layer2';
    autoAssign?: boolean;
    priority?: number;
    avoidBuggyIPs?: boolean;
    namespaces?: string[];
    namespaceSelector?: LabelSelectorObject;
    serviceSelector?: LabelSelectorObject;
    bgp?: { communities?: string[]; localPref?: number; peers?: string[] };
    layer2?: { interfaces?: string[]; nodeSelector?: LabelSelectorObject };
  };
  status?: { ipv4?: FamilyUsage; ipv6?: FamilyUsage; conditions?: Condition[] };
}

/** IPPool status per family; counts are decimal strings, as an IPv6 pool can exceed 2^53. */
export interface FamilyUsage {
  total: string;
  inUse: number;
  free: string;
}

export interface BGPPeerObject extends KubeObject {
  spec: {
    peerAddress: string;
    peerASN: number;
    myASN?: number;
    port?: number;
    holdTime?: string;
    keepaliveTime?: string;
    passwordSecretRef?: { name: string; key?: string };
    ebgpMultihop?: number;
    nodeSelector?: LabelSelectorObject;
    addressFamilies?: ('IPv4' | 'IPv6')[];
    addPath?: boolean;
  };
  status?: { sessions?: PeerSession[] };
}

/** One entry of BGPPeer status: the session as one speaker sees it. */
export interface PeerSession {
  speaker: string;
  state: string;
  since: string;
  prefixesAnnounced: number;
  message?: string;
}

export interface BGPConfigObject extends KubeObject {
  spec: {
    asn: number;
    routerID?: string;
    listenPort?: number;
    topology?: 'central' | 'per-node';
    gracefulRestart?: { enabled?: boolean; restartTime?: string };
  };
}

export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}
