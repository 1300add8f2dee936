import { rollupsFrom } from "./caps.js";
import { taskFrom, str, type Reply } from "./redisReplies.js";
import type { DaySpend, LedgerAudit, ReservationRecord, TaskRecord, UsageRollup } from "./store.js";

/** Decoding of the reservation records (lua/reservations.ts) and of the ledger check's read (LUA_AUDIT). */

function field(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

export function reservationFrom(tenantId: string, reservationId: string, json: string): ReservationRecord {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const idem = field(raw.idem);
  const reason = field(raw.reason);
  return {
    tenantId,
    reservationId,
    day: field(raw.day),
    model: field(raw.model),
    costMicros: Number(field(raw.cost)),
    upstream: field(raw.upstream),
    idempotencyKey: idem === "" ? undefined : idem,
    account: field(raw.acct) === "1",
    admittedAtMs: Number(field(raw.at)),
    state: field(raw.state) === "unknown" ? "unknown" : "open",
    reason: reason === "" ? undefined : reason,
    user: field(raw.user) === "" ? undefined : field(raw.user),
    feature: field(raw.feature) === "" ? undefined : field(raw.feature),
  };
}

/** A flat (id, JSON) list, as HGETALL or LUA_MARK_ORPHANS return it. */
export function reservationsFrom(tenantId: string, r: Reply): ReservationRecord[] {
  const out: ReservationRecord[] = [];
  for (let i = 0; i + 1 < r.length; i += 2) out.push(reservationFrom(tenantId, str(r, i), str(r, i + 1)));
  return out;
}

/** cjson writes an empty Lua table as `{}`: a list either way. */
function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(field) : [];
}

function pairs(flat: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i] ?? "", flat[i + 1] ?? "");
  return map;
}

export function auditFrom(tenantId: string, day: string, ids: readonly string[], json: string): LedgerAudit {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const inflightFlat = list(raw.inflight);
  const inFlight: { member: string; atMs: number }[] = [];
  for (let i = 0; i + 1 < inflightFlat.length; i += 2) {
    inFlight.push({ member: inflightFlat[i] ?? "", atMs: Number(inflightFlat[i + 1]) });
  }
  const live = new Set(inFlight.map((slot) => slot.member));
  const taskLists = Array.isArray(raw.tasks) ? raw.tasks : [];
  const records = new Map<string, TaskRecord | null>();
  ids.forEach((id, i) => {
    records.set(id, taskFrom(pairs(list(taskLists[i])), live.has(`t:${id}`), tenantId));
  });
  const indexed = list(raw.index)
    .filter((member) => member.startsWith(`${day}|`))
    .map((member) => member.slice(day.length + 1));
  const models: Record<string, number> = {};
  for (const [model, micros] of pairs(list(raw.models))) models[model] = Number(micros);
  const slotTasks: Record<string, TaskRecord | null> = {};
  for (const { member } of inFlight) {
    if (member.startsWith("t:")) slotTasks[member.slice(2)] = records.get(member.slice(2)) ?? null;
  }
  return {
    day: {
      day,
      spentMicros: Number(field(raw.spent)),
      refundedMicros: Number(field(raw.refunded)),
      byModel: models,
    },
    tasks: [...new Set(indexed)].map((taskId) => ({ taskId, record: records.get(taskId) ?? null })),
    reservations: reservationsFrom(tenantId, list(raw.resv)),
    inFlight,
    slotTasks,
    nowMs: Number(field(raw.now)),
  };
}

/** A pipeline's replies in groups of `size`, one group per item asked for; a failed command throws. */
function groupsOf(results: readonly [Error | null, unknown][], size: number, count: number): unknown[][] {
  return Array.from({ length: count }, (_, i) =>
    results.slice(i * size, i * size + size).map(([err, value]) => {
      if (err !== null) throw err;
      return value;
    }),
  );
}

/** A hash reply's entries (none for an empty or absent hash). */
function entriesOf(hash: unknown): [string, string][] {
  if (typeof hash !== "object" || hash === null) return [];
  return Object.entries(hash).map(([field, value]) => [field, String(value)]);
}

/** The days' spend from a pipeline of GET spend, GET refund, HGETALL spend-by-model per day, in that order. */
export function daySpendsFrom(
  days: readonly string[],
  results: readonly [Error | null, unknown][],
): readonly DaySpend[] {
  return groupsOf(results, 3, days.length).map(([spent, refunded, byModel], i) => ({
    day: days[i] ?? "",
    spentMicros: Number(spent ?? 0),
    refundedMicros: Number(refunded ?? 0),
    byModel: Object.fromEntries(entriesOf(byModel).map(([model, micros]) => [model, Number(micros)])),
  }));
}

/** Usage rollups from a pipeline of GET spend, HGETALL usage per period, in that order. */
export function usageFrom(
  periods: readonly string[],
  results: readonly [Error | null, unknown][],
): readonly UsageRollup[] {
  return groupsOf(results, 2, periods.length).map(([spent, hash], i) => ({
    period: periods[i] ?? "",
    spentMicros: Number(spent ?? 0),
    ...rollupsFrom(entriesOf(hash)),
  }));
}
