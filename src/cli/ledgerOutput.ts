import { formatUsd, usdToMicros } from "../apixo/prices.js";
import type { LedgerCheckView, ReleaseOutcome, ReservationView } from "../ledger/operations.js";
import { renderTable } from "./usageOutput.js";

/** The text `apixo-gateway ledger` prints; JSON output is the views themselves. */

function usd(value: number): string {
  return formatUsd(usdToMicros(value));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function figuresLine(check: LedgerCheckView): string {
  const f = check.figures;
  const unverifiable =
    f.unverifiableTasks === 0
      ? ""
      : `, ${plural(f.unverifiableTasks, "task")} past the ledger TTL (not verified)`;
  return (
    `spent ${usd(f.spentUsd)} = charged ${usd(f.chargedUsd)} - refunded ${usd(f.refundedUsd)} ` +
    `+ unknown ${usd(f.unknownUsd)} + open ${usd(f.openUsd)}; ${plural(f.tasks, "task")}, ` +
    `${f.inFlight} in flight, ${plural(f.unknownReservations, "unknown outcome")}${unverifiable}`
  );
}

/** Per tenant-day: "ok" or every problem sentence, then its figures; a summary line last. */
export function checkReport(checks: readonly LedgerCheckView[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    const verdict = check.ok ? "ok" : plural(check.problems.length, "problem");
    lines.push(`${check.tenantId} ${check.day}: ${verdict}`);
    for (const problem of check.problems) lines.push(`  - ${problem}`);
    lines.push(`  ${figuresLine(check)}`);
  }
  const bad = checks.filter((c) => !c.ok).length;
  lines.push(
    `${plural(checks.length, "tenant-day")} checked: ${checks.length - bad} ok, ${bad} with problems`,
  );
  return lines.join("\n");
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h`;
}

export function reservationsTable(reservations: readonly ReservationView[]): string {
  if (reservations.length === 0) return "no open or unknown-outcome reservations";
  return renderTable(
    ["RESERVATION", "TENANT", "DAY", "MODEL", "COST", "STATE", "REASON", "AGE"],
    reservations.map((r) => [
      r.reservationId,
      r.tenantId,
      r.day,
      r.model,
      usd(r.costUsd),
      r.state,
      r.reason ?? "-",
      age(r.ageSeconds),
    ]),
    new Set([4, 7]),
  );
}

export function releaseReport(outcome: Extract<ReleaseOutcome, { released: true }>): string {
  const r = outcome.reservation;
  const was = r.state === "unknown" ? `unknown outcome: ${r.reason ?? "no reason recorded"}` : "open";
  const freed = [
    `${usd(r.costUsd)} off the spend of ${r.day}`,
    "the tenant's in-flight slot",
    ...(outcome.accountSlotFreed ? [`the in-flight slot of upstream account '${r.upstream}'`] : []),
    ...(outcome.idempotencyKeyFreed ? ["its Idempotency-Key (a retry with that key starts a new task)"] : []),
  ];
  return [
    `released reservation ${r.reservationId} of tenant ${r.tenantId} (${r.model}, ${r.day}, ${was})`,
    `  gave back: ${freed.join("; ")}`,
  ].join("\n");
}
