/** Injected everywhere time matters, so tests can move time instead of sleeping. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic milliseconds, for measuring durations. */
  monotonicMs(): number;
  /** Resolves after `ms` of this clock's time (retry backoff, idempotency waits), so a test clock drives it. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      setTimeout(resolve, ms);
    }),
};

/** A clock that moves only when told to; its sleepers wake when `advance` reaches their time. */
export class ManualClock implements Clock {
  private wallMs: number;
  private monoMs = 0;
  private sleepers: { readonly atMs: number; readonly wake: () => void }[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.wallMs = startMs;
  }

  now(): number {
    return this.wallMs;
  }

  monotonicMs(): number {
    return this.monoMs;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push({ atMs: this.monoMs + Math.max(0, ms), wake: resolve });
    });
  }

  /** Sleepers waiting now (a test waits for the code under test to reach its sleep before advancing). */
  get sleeping(): number {
    return this.sleepers.length;
  }

  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
    const due = this.sleepers.filter((s) => s.atMs <= this.monoMs);
    this.sleepers = this.sleepers.filter((s) => s.atMs > this.monoMs);
    for (const sleeper of due) sleeper.wake();
  }

  set(wallMs: number): void {
    this.wallMs = wallMs;
  }
}

/** Whether `timeZone` is an IANA zone this runtime knows ("UTC", "Europe/Berlin"). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}
