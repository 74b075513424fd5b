import './formats.js';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** The outcome of checking one message against its contract. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Checks untrusted input against one schema; compiled once, reused for every message. */
export interface Validator<T> {
  readonly schemaId: string;
  check(input: unknown): Checked<T>;
  /** Parses JSON bytes or text, then checks. Malformed JSON is a problem, never a throw. */
  decode(data: Uint8Array | string): Checked<T>;
}

const MAX_PROBLEMS = 5;
const decoder = new TextDecoder();

export function validator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const compiled = TypeCompiler.Compile(schema);
  const schemaId = schema.$id ?? 'anonymous';
  const check = (input: unknown): Checked<Static<S>> => {
    if (compiled.Check(input)) return { ok: true, value: input };
    const problems: string[] = [];
    for (const error of compiled.Errors(input)) {
      problems.push(`${error.path || '/'}: ${error.message}`);
      if (problems.length === MAX_PROBLEMS) break;
    }
    return { ok: false, problems };
  };
  return {
    schemaId,
    check,
    decode(data) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(typeof data === 'string' ? data : decoder.decode(data));
      } catch (error) {
        return { ok: false, problems: [`not JSON: ${(error as Error).message}`] };
      }
      return check(parsed);
    },
  };
}
