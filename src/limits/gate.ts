/** Returned instead of running the call: too many admissions are already waiting on the store. */
export interface Overloaded {
  readonly kind: "overloaded";
}
export const OVERLOADED: Overloaded = { kind: "overloaded" };

export interface GateLimits {
  /** Store calls this process has out at once; more wait their turn. */
  readonly maxConcurrent: number;
  /** Calls that may wait for a turn; one more is shed. */
  readonly maxQueued: number;
}

/**
 * Bounds the admissions a process has waiting on the store. Past the bound the gateway sheds load before
 * anything is reserved (503 OVERLOADED with Retry-After), instead of letting every request wait longer and
 * longer behind a queue it cannot clear. Limits are read per call, so a reload applies at once.
 */
export class AdmissionGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limits: () => GateLimits) {}

  run<T>(work: () => Promise<T>): Promise<T | Overloaded> {
    const { maxConcurrent, maxQueued } = this.limits();
    if (this.active < maxConcurrent) {
      // The common case runs at once, without a queued turn.
      this.active += 1;
      return work().finally(this.release);
    }
    if (this.waiting.length >= maxQueued) return Promise.resolve(OVERLOADED);
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() =>
      work().finally(this.release),
    );
  }

  /** The turn passes straight to the next waiter, so `active` already counts it. */
  private readonly release = (): void => {
    const next = this.waiting.shift();
    if (next === undefined) this.active -= 1;
    else next();
  };
}
