import { readFileSync } from 'node:fs';

/** Raised when configuration is wrong; the message names every bad variable and what it wants. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'BERTH_CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** How to read one setting: the variable, how to parse its text, and the default when unset. */
export interface Setting<T> {
  readonly env: string;
  readonly describe: string;
  readonly parse: (text: string) => T;
  readonly fallback: (() => T) | undefined;
}

type Parser<T> = (text: string) => T;

function setting<T>(env: string, describe: string, parse: Parser<T>, fallback?: T): Setting<T> {
  return { env, describe, parse, fallback: fallback === undefined ? undefined : () => fallback };
}

/** Setting builders. A setting with no default is required. */
export const env = {
  string: (name: string, fallback?: string) =>
    setting(
      name,
      'a non-empty string',
      (text) => {
        if (text.trim() === '') throw new Error();
        return text;
      },
      fallback,
    ),

  optionalString: (name: string): Setting<string | undefined> => ({
    env: name,
    describe: 'a string',
    parse: (text) => (text === '' ? undefined : text),
    fallback: () => undefined,
  }),

  integer: (name: string, min: number, max: number, fallback?: number) =>
    setting(
      name,
      `an integer from ${min} to ${max}`,
      (text) => {
        const n = Number(text);
        if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) throw new Error();
        return n;
      },
      fallback,
    ),

  port: (name: string, fallback?: number) => env.integer(name, 0, 65535, fallback),

  boolean: (name: string, fallback?: boolean) =>
    setting(
      name,
      'true or false',
      (text) => {
        const t = text.trim().toLowerCase();
        if (t === 'true' || t === '1') return true;
        if (t === 'false' || t === '0') return false;
        throw new Error();
      },
      fallback,
    ),

  oneOf: <const V extends string>(name: string, values: readonly V[], fallback?: V) =>
    setting(
      name,
      `one of ${values.join(', ')}`,
      (text) => {
        if (!(values as readonly string[]).includes(text)) throw new Error();
        return text as V;
      },
      fallback,
    ),

  list: (name: string, fallback?: string[]) =>
    setting(
      name,
      'a comma-separated list',
      (text) => {
        const items = text
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        if (items.length === 0) throw new Error();
        return items;
      },
      fallback,
    ),

  /** A regular expression, matched against whole names (anchor it yourself). */
  regex: (name: string, fallback?: string) =>
    setting(
      name,
      'a regular expression',
      (text) => new RegExp(text),
      fallback === undefined ? undefined : new RegExp(fallback),
    ),

  /** A path to a readable file (certificates, keys, credentials); unset means none. */
  file: (name: string): Setting<string | undefined> => ({
    env: name,
    describe: 'the path of a readable file',
    parse: (text) => {
      readFileSync(text);
      return text;
    },
    fallback: () => undefined,
  }),
} as const;

export type ConfigSpec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: ReturnType<S[K]['parse']> };

/**
 * Reads every setting of `spec` from `source` (the process environment by default). Collects all
 * problems before throwing, so an operator fixes them in one round.
 */
export function loadConfig<S extends ConfigSpec>(spec: S, source: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [field, s] of Object.entries(spec)) {
    const text = source[s.env];
    if (text === undefined) {
      if (s.fallback === undefined) problems.push(`${s.env} is required: set it to ${s.describe}`);
      else out[field] = s.fallback();
      continue;
    }
    try {
      out[field] = s.parse(text);
    } catch {
      problems.push(`${s.env}=${JSON.stringify(text)} is not valid: it must be ${s.describe}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}
