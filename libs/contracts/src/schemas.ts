import type { TSchema } from '@sinclair/typebox';
import { EventSchemas } from './events.js';
import { SnapshotSchemas } from './snapshots.js';

/** Every published schema, keyed by the file name it is written to under `docs/schemas/`. */
export function publishedSchemas(): Map<string, TSchema> {
  const all: TSchema[] = [...Object.values(SnapshotSchemas), ...Object.values(EventSchemas)];
  return new Map(all.map((schema) => [`${String(schema.$id)}.schema.json`, schema]));
}

/** The JSON text of a schema as published, with the draft it follows. */
export function renderSchema(schema: TSchema): string {
  return `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...schema }, null, 2)}\n`;
}
