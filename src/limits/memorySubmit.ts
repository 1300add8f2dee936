import { tightest } from "./bucket.js";
import { checkCaps, usageField, type CapCheck } from "./caps.js";
import { inflightReservation } from "./keys.js";
import type { MemoryState } from "./memoryState.js";
import { StoreUnavailable, monthOf, type SubmitDecision, type SubmitRequest } from "./store.js";

/**
 * The memory store's admitSubmit, the rules of lua/submit.ts in the same order: late admission, idempotency,
 * buckets, in-flight, caps, account, the record bound; every write only after every check passed.
 */
export function admitSubmit(s: MemoryState, maxRecords: number, request: SubmitRequest): SubmitDecision {
  const { tenantId, reservationId } = request;
  if (s.reservations.isVoid(tenantId, reservationId)) return { kind: "void" };
  const k = s.keys(tenantId);
  const now = s.clock.now();
  const cutoff = now - request.taskMaxAgeMs;
  const slots = s.slots(k);
  const idemKey = request.idempotency === undefined ? null : k.idem(request.idempotency.key);
  const { days } = request;
  const day =
    now < days.startTodayMs ? days.yesterday : now >= days.startTomorrowMs ? days.tomorrow : days.today;
  const held = idemKey === null ? undefined : s.idem.get(idemKey);
  const { tokens, denied } = s.checkBuckets(k, request.buckets);
  if (held?.state === "done") {
    // A replay is a governed answer: it takes a submit token (nothing else: no cost, no slot).
    if (denied !== null) return denied;
    const rate = s.take(k, request.buckets, tokens);
    return {
      kind: "replay",
      answer: held.answer,
      rate,
      spentMicros: s.counters.get(k.spend(day)) ?? 0,
      remainingMicros: capsOf(s, request, day, 0).remainingMicros,
    };
  }
  if (held?.state === "held" && (slots.get(inflightReservation(held.res))?.atMs ?? -Infinity) > cutoff) {
    return { kind: "in_progress" };
  }
  if (denied !== null) return denied;
  const rate = tightest(request.buckets, tokens);
  const live = slots.countLive(cutoff);
  if (request.maxInFlight !== null && live >= request.maxInFlight) {
    return {
      kind: "concurrency_limited",
      inFlight: live,
      limit: request.maxInFlight,
      retryAfterSec: 1,
      rate,
    };
  }
  const { remainingMicros, over } = capsOf(s, request, day, request.costMicros);
  if (over !== null) return { kind: "spend_cap", ...over, day, costMicros: request.costMicros, rate };
  const account = request.account;
  const accountDenial = account === undefined ? null : s.accounts.check(account, rate, cutoff);
  if (accountDenial !== null) return accountDenial;
  const records = s.recordsHeld();
  if (records >= maxRecords) {
    throw new StoreUnavailable(
      `governance store unavailable (submit): memory store full (${records} records)`,
      {
        maybeApplied: false,
      },
    );
  }
  const after = s.take(k, request.buckets, tokens);
  if (account !== undefined) s.accounts.take(account, { reservationId, cutoffMs: cutoff });
  const expired = s.expire(k, request.taskMaxAgeMs);
  slots.add(inflightReservation(reservationId), now, request.model);
  s.reservations.put({
    tenantId,
    reservationId,
    day,
    model: request.model,
    costMicros: request.costMicros,
    upstream: request.upstream,
    idempotencyKey: request.idempotency?.key,
    account: account !== undefined,
    admittedAtMs: now,
    state: "open",
    reason: undefined,
    user: request.attribution.user,
    feature: request.attribution.feature,
  });
  const spentMicros = s.charge(k, day, request.model, request.costMicros, 1, request.attribution);
  if (idemKey !== null && request.idempotency !== undefined) {
    s.idem.set(idemKey, { state: "held", res: reservationId }, request.idempotency.ttlSec * 1000);
  }
  return { kind: "admitted", day, spentMicros, remainingMicros, rate: after, expired };
}

/** The caps rule of lua/spend.ts over this store's counters. */
function capsOf(s: MemoryState, request: SubmitRequest, day: string, costMicros: number): CapCheck {
  const k = s.keys(request.tenantId);
  const { user } = request.attribution;
  return checkCaps(request.caps, costMicros, (window) => {
    switch (window) {
      case "daily":
        return s.counters.get(k.spend(day)) ?? 0;
      case "monthly":
        return s.counters.get(k.spend(monthOf(day))) ?? 0;
      case "model_daily":
        return s.models.get(k.spendByModel(day))?.get(request.model) ?? 0;
      case "user_daily":
        return user === undefined
          ? null
          : (s.usage.get(k.usage(day))?.get(usageField("u", user, "spend")) ?? 0);
    }
  });
}
