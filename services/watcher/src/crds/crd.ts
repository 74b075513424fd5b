import { GROUP, VERSION, type Rule, type Schema } from './schema.js';

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  priority?: number;
}

/** A CustomResourceDefinition in its wire form, ready to be written as YAML. */
export interface Crd {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    scope: 'Cluster';
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: Column[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

/** A cluster-scoped CRD of Berth's with a status subresource. */
export function clusterCrd(options: {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec: Schema;
  status: Schema;
  columns: Column[];
  rules?: Rule[];
}): Crd {
  const singular = options.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${options.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Cluster',
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular,
        shortNames: options.shortNames,
        categories: ['berth'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...options.columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: options.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: options.spec,
                status: options.status,
              },
              ...(options.rules === undefined ? {} : { 'x-kubernetes-validations': options.rules }),
            },
          },
        },
      ],
    },
  };
}
