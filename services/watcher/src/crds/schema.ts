/** A CEL validation rule, as `x-kubernetes-validations` holds it. */
export interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
}

/** A structural OpenAPI v3 schema in its wire form (the client library's model renames fields). */
export interface Schema {
  type?: 'object' | 'string' | 'integer' | 'boolean' | 'array';
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: string[];
  default?: string | number | boolean;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  'x-kubernetes-validations'?: Rule[];
  'x-kubernetes-list-type'?: 'set' | 'map' | 'atomic';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** Building blocks for Berth's CRD schemas: structural OpenAPI with CEL rules. */

export const GROUP = 'berth.dev';
export const VERSION = 'v1alpha1';

export function object(properties: Record<string, Schema>, extra: Partial<Schema> = {}): Schema {
  return { type: 'object', properties, ...extra };
}

export function string(extra: Partial<Schema> = {}): Schema {
  return { type: 'string', ...extra };
}

export function integer(minimum: number, maximum: number, extra: Partial<Schema> = {}): Schema {
  return { type: 'integer', format: maximum > 2147483647 ? 'int64' : 'int32', minimum, maximum, ...extra };
}

export function boolean(defaultValue: boolean, description: string): Schema {
  return { type: 'boolean', default: defaultValue, description };
}

export function setOf(items: Schema, maxItems: number, description: string): Schema {
  return { type: 'array', items, maxItems, 'x-kubernetes-list-type': 'set', description };
}

export function withRules(schema: Schema, rules: Rule[]): Schema {
  return { ...schema, 'x-kubernetes-validations': rules };
}

/** A Go-style duration such as `90s` or `1m30s`, bounded by CEL. */
export function duration(description: string, defaultValue?: string): Schema {
  return string({
    description,
    maxLength: 20,
    pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

/** A Kubernetes object name (DNS subdomain). */
export const objectName: Schema = string({ maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' });

const labelKey = string({ maxLength: 317 });

/** metav1.LabelSelector, as every Kubernetes API spells it. */
export function labelSelector(description: string): Schema {
  return object(
    {
      matchLabels: { type: 'object', additionalProperties: string({ maxLength: 63 }), maxProperties: 64 },
      matchExpressions: {
        type: 'array',
        maxItems: 32,
        items: object(
          {
            key: labelKey,
            operator: string({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
            values: { type: 'array', maxItems: 64, items: string({ maxLength: 63 }) },
          },
          {
            required: ['key', 'operator'],
            'x-kubernetes-validations': [
              {
                rule: "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
                message: 'In and NotIn need values; Exists and DoesNotExist take none',
              },
            ],
          },
        ),
      },
    },
    { description, 'x-kubernetes-map-type': 'atomic' },
  );
}

/** metav1.Condition list, keyed by type. */
export const conditions: Schema = {
  type: 'array',
  maxItems: 16,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: object(
    {
      type: string({ maxLength: 316 }),
      status: string({ enum: ['True', 'False', 'Unknown'] }),
      observedGeneration: integer(0, Number.MAX_SAFE_INTEGER),
      lastTransitionTime: string({ format: 'date-time' }),
      reason: string({ maxLength: 1024 }),
      message: string({ maxLength: 32768 }),
    },
    { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
  ),
};
