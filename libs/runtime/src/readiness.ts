/**
 * What a process still waits for before it is ready. Each dependency reports itself under its
 * own name; the process is ready when none reports a reason.
 */
export class Readiness {
  readonly #waiting = new Map<string, string>();
  readonly #warnings = new Map<string, string>();

  /**
   * Says that `name` is impaired though the process stays ready by design (say, the watcher cut
   * off from the API server keeps its last state): `/readyz` shows it in its body, still 200.
   */
  warn(name: string, warning: string): void {
    this.#warnings.set(name, warning);
  }

  clearWarning(name: string): void {
    this.#warnings.delete(name);
  }

  /** `name: warning` for every impairment that does not make the process unready. */
  warnings(): string[] {
    return [...this.#warnings].map(([name, warning]) => `${name}: ${warning}`);
  }

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
