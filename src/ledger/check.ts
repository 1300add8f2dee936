import type { LedgerAudit, ReservationRecord } from "../limits/store.js";

export interface LedgerCheck {
  readonly tenantId: string;
  readonly day: string;
  readonly ok: boolean;
  /** One sentence per broken invariant, naming the ids involved. */
  readonly problems: readonly string[];
  readonly figures: {
    readonly spentMicros: number;
    readonly chargedMicros: number;
    readonly refundedMicros: number;
    readonly unknownMicros: number;
    readonly openMicros: number;
    readonly tasks: number;
    readonly unverifiableTasks: number;
    readonly inFlight: number;
    readonly unknownReservations: number;
  };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * The ledger's invariants for one tenant-day, from one atomic read (LedgerAudit):
 * - spent = charges of the day's tasks - their refunds + unknown outcomes + open reservations of the day;
 * - the day's refund counter = the refunds recorded on its tasks; the per-model split adds up to the spend;
 * - every in-flight slot is a pending task (`t:`) or a reservation the store holds (`r:`);
 * - no reservation of the day is still open past `orphanAfterMs` (it would have a task or an unknown mark).
 * Task records expire after the ledger TTL: a day whose records are gone cannot be verified, and says so.
 */
export function checkLedger(
  tenantId: string,
  audit: LedgerAudit,
  options: { readonly orphanAfterMs: number },
): LedgerCheck {
  const problems: string[] = [];
  const { day } = audit;
  const records = audit.tasks.flatMap((t) => (t.record === null ? [] : [t.record]));
  const unverifiable = audit.tasks.length - records.length;
  const ofDay = audit.reservations.filter((r) => r.day === day.day);
  const costOf = (list: readonly ReservationRecord[]) => sum(list.map((r) => r.costMicros));
  const unknownMicros = costOf(ofDay.filter((r) => r.state === "unknown"));
  const openMicros = costOf(ofDay.filter((r) => r.state === "open"));
  const chargedMicros = sum(records.map((t) => t.costMicros));
  const refundedMicros = sum(records.map((t) => t.refundedMicros));

  const expected = chargedMicros - refundedMicros + unknownMicros + openMicros;
  if (unverifiable === 0 && day.spentMicros !== expected) {
    problems.push(
      `spend of ${day.day} is ${day.spentMicros} micro-USD, but its tasks, refunds, unknown outcomes and open ` +
        `reservations add up to ${expected} (charged ${chargedMicros} - refunded ${refundedMicros} + unknown ` +
        `${unknownMicros} + open ${openMicros})`,
    );
  }
  if (unverifiable === 0 && day.refundedMicros !== refundedMicros) {
    problems.push(
      `refunds of ${day.day} are ${day.refundedMicros} micro-USD, its tasks record ${refundedMicros}`,
    );
  }
  const byModel = sum(Object.values(day.byModel));
  if (byModel !== day.spentMicros) {
    problems.push(
      `the per-model spend of ${day.day} adds up to ${byModel} micro-USD, not ${day.spentMicros}`,
    );
  }

  // Slots and reservations are named under the day of their charge, so a check of several days names each
  // once (a slot with no record at all has no day, and is named under every day checked).
  const held = new Set(audit.reservations.map((r) => r.reservationId));
  for (const { member } of audit.inFlight) {
    const id = member.slice(2);
    if (member.startsWith("r:")) {
      if (!held.has(id)) problems.push(`in-flight slot ${member} has no reservation record`);
    } else if (member.startsWith("t:")) {
      const task = audit.slotTasks[id];
      if (task === null || task === undefined) problems.push(`in-flight slot ${member} has no task record`);
      else if (task.day === day.day && task.state !== "pending") {
        problems.push(`in-flight slot ${member} belongs to a ${task.state} task`);
      }
    }
  }
  for (const r of ofDay) {
    if (r.state === "open" && audit.nowMs - r.admittedAtMs > options.orphanAfterMs) {
      problems.push(
        `reservation ${r.reservationId} (${r.day}, ${r.model}, ${r.costMicros} micro-USD) is open ` +
          `${Math.round((audit.nowMs - r.admittedAtMs) / 1000)} s after admission with no task and no unknown mark`,
      );
    }
  }
  return {
    tenantId,
    day: day.day,
    ok: problems.length === 0,
    problems,
    figures: {
      spentMicros: day.spentMicros,
      chargedMicros,
      refundedMicros,
      unknownMicros,
      openMicros,
      tasks: records.length,
      unverifiableTasks: unverifiable,
      inFlight: audit.inFlight.length,
      unknownReservations: audit.reservations.filter((r) => r.state === "unknown").length,
    },
  };
}
