import type { Clock } from "../clock.js";
import { TOMBSTONE_TTL_SEC } from "./keys.js";
import type { ReservationRecord } from "./store.js";
import { TtlMap } from "./ttlMap.js";

/**
 * The in-memory store's reservation records and tombstones, with the Redis scripts' rules
 * (lua/reservations.ts): a record per reservation the store holds, and a tombstone for an id that was
 * released or charged without one, so that an admission of that id coming later takes nothing.
 */
export class MemoryReservations {
  /** tenant -> reservationId -> record; like the Redis hash it has no TTL (markOrphans prunes it). */
  private readonly records = new Map<string, Map<string, ReservationRecord>>();
  private readonly tombstones: TtlMap<true>;
  /** Records held, all tenants (the store's size cap counts them). */
  private held = 0;

  constructor(clock: Clock) {
    this.tombstones = new TtlMap(clock);
  }

  private of(tenantId: string): Map<string, ReservationRecord> {
    let records = this.records.get(tenantId);
    if (records === undefined) this.records.set(tenantId, (records = new Map<string, ReservationRecord>()));
    return records;
  }

  get(tenantId: string, reservationId: string): ReservationRecord | undefined {
    return this.of(tenantId).get(reservationId);
  }

  get size(): number {
    return this.held;
  }

  put(record: ReservationRecord): void {
    const records = this.of(record.tenantId);
    if (!records.has(record.reservationId)) this.held += 1;
    records.set(record.reservationId, record);
  }

  delete(tenantId: string, reservationId: string): void {
    if (this.of(tenantId).delete(reservationId)) this.held -= 1;
  }

  list(tenantId: string): ReservationRecord[] {
    return [...this.of(tenantId).values()];
  }

  /** A late admission: the id was settled one way or the other already. */
  isVoid(tenantId: string, reservationId: string): boolean {
    return this.hasTombstone(tenantId, reservationId) || this.of(tenantId).has(reservationId);
  }

  hasTombstone(tenantId: string, reservationId: string): boolean {
    return this.tombstones.get(`${tenantId}\n${reservationId}`) === true;
  }

  tombstone(tenantId: string, reservationId: string): void {
    this.tombstones.set(`${tenantId}\n${reservationId}`, true, TOMBSTONE_TTL_SEC * 1000);
  }
}
