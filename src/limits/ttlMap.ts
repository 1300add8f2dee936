import type { Clock } from "../clock.js";

/** A map whose entries vanish at their deadline on the injected clock, like Redis keys with a TTL. */
export class TtlMap<T> {
  private readonly entries = new Map<string, { value: T; expiresAtMs: number }>();
  constructor(private readonly clock: Clock) {}
  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: T, ttlMs: number): void {
    this.entries.set(key, { value, expiresAtMs: this.clock.now() + ttlMs });
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
}
