/** When a new owner announces a VIP: at once, then again for routers that dropped the first. */
export const ANNOUNCE_SCHEDULE_MS = [0, 250, 1000, 2000, 4000] as const;

/** Runs `send(key)` on a schedule after each `start(key)`, until `stop(key)`. */
export class Bursts {
  readonly #timers = new Map<string, NodeJS.Timeout[]>();

  constructor(
    private readonly send: (key: string) => void,
    private readonly schedule: readonly number[] = ANNOUNCE_SCHEDULE_MS,
  ) {}

  start(key: string): void {
    this.stop(key);
    const timers: NodeJS.Timeout[] = [];
    for (const at of this.schedule) {
      if (at === 0) this.send(key);
      else timers.push(setTimeout(() => this.send(key), at).unref());
    }
    this.#timers.set(key, timers);
  }

  stop(key: string): void {
    for (const timer of this.#timers.get(key) ?? []) clearTimeout(timer);
    this.#timers.delete(key);
  }

  stopAll(): void {
    for (const key of [...this.#timers.keys()]) this.stop(key);
  }
}
