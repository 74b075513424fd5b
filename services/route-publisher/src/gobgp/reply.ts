/**
 * A message from gobgpd (proto3 JSON form: `keepCase`, longs as numbers, enums as strings, `Any`
 * as `{ '@type', ... }`), read field by field without trusting its shape: a field that is absent
 * or of another type reads as empty, so a change in GoBGP's API shows as missing data, never as a
 * wrong type passed on.
 */
export class Reply {
  constructor(private readonly value: unknown) {}

  #field(key: string): unknown {
    const { value } = this;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (Object.getOwnPropertyDescriptor(value, key)?.value as unknown)
      : undefined;
  }

  /** A nested message; empty when absent. */
  get(key: string): Reply {
    return new Reply(this.#field(key));
  }

  /** A repeated message field. */
  list(key: string): Reply[] {
    const field = this.#field(key);
    return Array.isArray(field) ? field.map((item: unknown) => new Reply(item)) : [];
  }

  text(key: string): string | undefined {
    const field = this.#field(key);
    return typeof field === 'string' ? field : undefined;
  }

  number(key: string): number | undefined {
    const field = this.#field(key);
    return typeof field === 'number' ? field : undefined;
  }

  /** A repeated string or number field. */
  texts(key: string): string[] {
    const field = this.#field(key);
    return Array.isArray(field) ? field.filter((item): item is string => typeof item === 'string') : [];
  }

  numbers(key: string): number[] {
    const field = this.#field(key);
    return Array.isArray(field) ? field.filter((item): item is number => typeof item === 'number') : [];
  }

  flag(key: string): boolean {
    return this.#field(key) === true;
  }
}
