/** One in-flight slot: its member name changes once (`r:<reservation>` -> `t:<task>`), its place does not. */
export interface Slot {
  member: string;
  readonly atMs: number;
  model: string;
}

/**
 * In-flight slots in admission order, as the in-memory store's sorted set (the Redis zset is ordered by
 * admission time; slots here are appended at admission, so insertion order is that order while the clock
 * does not step back). Counting the live ones and expiring old ones walk only the expired end, so a request
 * costs the same with 1 or 100,000 tasks in flight. After a clock step back, slots admitted during the step
 * sit behind younger ones and expire late by at most the step.
 */
export class SlotSet {
  private readonly byMember = new Map<string, Slot>();
  /** Insertion (admission) order; a Set deletes any slot in O(1) and keeps a renamed slot in place. */
  private readonly order = new Set<Slot>();

  get size(): number {
    return this.byMember.size;
  }

  get(member: string): Slot | undefined {
    return this.byMember.get(member);
  }

  has(member: string): boolean {
    return this.byMember.has(member);
  }

  add(member: string, atMs: number, model: string): void {
    this.delete(member);
    const slot: Slot = { member, atMs, model };
    this.byMember.set(member, slot);
    this.order.add(slot);
  }

  delete(member: string): boolean {
    const slot = this.byMember.get(member);
    if (slot === undefined) return false;
    this.byMember.delete(member);
    this.order.delete(slot);
    return true;
  }

  /** The slot keeps its admission time and its place; undefined if `from` holds none. */
  rename(from: string, to: string, model: string): Slot | undefined {
    const slot = this.byMember.get(from);
    if (slot === undefined) return undefined;
    this.byMember.delete(from);
    this.delete(to);
    slot.member = to;
    slot.model = model;
    this.byMember.set(to, slot);
    return slot;
  }

  /** Slots admitted after `cutoffMs` (the expired ones are at the oldest end, not yet dropped). */
  countLive(cutoffMs: number): number {
    let expired = 0;
    for (const slot of this.order) {
      if (slot.atMs > cutoffMs) break;
      expired += 1;
    }
    return this.order.size - expired;
  }

  /** Drops the slots admitted at or before `cutoffMs`, oldest first, and returns them. */
  expire(cutoffMs: number): Slot[] {
    const expired: Slot[] = [];
    for (const slot of this.order) {
      if (slot.atMs > cutoffMs) break;
      this.order.delete(slot);
      this.byMember.delete(slot.member);
      expired.push(slot);
    }
    return expired;
  }

  /** Every slot, oldest first. */
  list(): readonly Slot[] {
    return [...this.order];
  }
}
