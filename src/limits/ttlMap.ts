import type { Clock } from "../clock.js";

interface Entry<T> {
  value: T;
  readonly expiresAtMs: number;
  readonly ttlMs: number;
  /** The entries sharing this entry's TTL, in the order they were set: the order they expire in. */
  readonly group: Map<string, Entry<T>>;
}

/**
 * A map whose entries vanish at their deadline on the injected clock, like Redis keys with a TTL, and are
 * evicted as they expire (not only when read), so memory is bounded by what is live.
 *
 * Entries are grouped by TTL: within a group the entry set first expires first, so eviction walks each group
 * from its oldest end and stops at the first live entry: O(1) amortised per write, whatever the size. (A
 * binary heap would do for mixed TTLs, but every re-set of a hot key, a counter or a bucket, would leave a
 * stale heap node behind until its old deadline; with groups a re-set moves the key.) A clock that steps back
 * only delays the eviction of entries set during the step: `get` still checks each entry's own deadline.
 */
export class TtlMap<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly groups = new Map<number, Map<string, Entry<T>>>();

  constructor(private readonly clock: Clock) {}

  /** Entries held, expired ones included until the next write or `evictExpired`. */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.clock.now()) {
      this.remove(key, entry);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    const now = this.clock.now();
    this.evictExpired(now);
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old);
    let group = this.groups.get(ttlMs);
    if (group === undefined) this.groups.set(ttlMs, (group = new Map<string, Entry<T>>()));
    const entry: Entry<T> = { value, expiresAtMs: now + ttlMs, ttlMs, group };
    group.set(key, entry);
    this.entries.set(key, entry);
  }

  /** Replaces a live entry's value and keeps its deadline; false if there is none. */
  update(key: string, value: T): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAtMs <= this.clock.now()) return false;
    entry.value = value;
    return true;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(key, entry);
  }

  /** Drops every entry past its deadline (each group from its oldest end). */
  evictExpired(now = this.clock.now()): void {
    for (const group of this.groups.values()) {
      for (const [key, entry] of group) {
        if (entry.expiresAtMs > now) break;
        this.remove(key, entry);
      }
    }
  }

  private remove(key: string, entry: Entry<T>): void {
    this.entries.delete(key);
    entry.group.delete(key);
    if (entry.group.size === 0) this.groups.delete(entry.ttlMs);
  }
}
