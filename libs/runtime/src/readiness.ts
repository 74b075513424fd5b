/**
 * What a process still waits for before it is ready. Each dependency reports itself under its
 * own name; the process is ready when none reports a reason.
 */
export class Readiness {
  readonly #waiting = new Map<string, string>();

  /** Marks `name` as not ready for `reason`; a later `ready(name)` clears it. */
  notReady(name: string, reason: string): void {
    this.#waiting.set(name, reason);
  }

  ready(name: string): void {
    this.#waiting.delete(name);
  }

  get isReady(): boolean {
    return this.#waiting.size === 0;
  }

  /** `name: reason` for every dependency that is not ready. */
  reasons(): string[] {
    return [...this.#waiting].map(([name, reason]) => `${name}: ${reason}`);
  }
}
