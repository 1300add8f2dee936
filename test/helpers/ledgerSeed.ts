import { randomUUID } from "node:crypto";
import { dayWindow } from "../../src/limits/days.js";
import type { AccountLimits, GovernanceStore, SubmitRequest } from "../../src/limits/store.js";

/** Seeds ledger states through the store's public API, as the gateway's submit path leaves them. */

const HOUR_MS = 3_600_000;

/** An account whose in-flight cap is one task: a second admission on it is refused while one holds its slot. */
export const ONE_SLOT_ACCOUNT: AccountLimits = { upstream: "main", bucket: null, maxInFlight: 1 };

/** A submit of a UTC tenant now, with limits it never reaches. */
export function submitOf(tenantId: string, over: Partial<SubmitRequest> = {}): SubmitRequest {
  return {
    tenantId,
    model: "flux2",
    buckets: [{ name: "submit", ratePerSec: 100, burst: 1000 }],
    maxInFlight: null,
    caps: [],
    attribution: {},
    costMicros: 100_000,
    days: dayWindow("UTC", Date.now()),
    reservationId: randomUUID(),
    taskMaxAgeMs: HOUR_MS,
    upstream: "main",
    ...over,
  };
}

async function admit(store: GovernanceStore, request: SubmitRequest): Promise<string> {
  const decision = await store.admitSubmit(request);
  if (decision.kind !== "admitted") throw new Error(`seed: expected admitted, got ${decision.kind}`);
  return decision.day;
}

/** A submit in progress (or one whose gateway died): an open reservation. */
export async function seedOpen(store: GovernanceStore, request: SubmitRequest): Promise<SubmitRequest> {
  await admit(store, request);
  return request;
}

/** A submit that timed out after sending: its reservation is kept as an unknown outcome. */
export async function seedUnknown(
  store: GovernanceStore,
  request: SubmitRequest,
  reason = "timeout",
): Promise<SubmitRequest> {
  const day = await admit(store, request);
  await store.markUnknown({
    tenantId: request.tenantId,
    reservationId: request.reservationId,
    reason,
    charge: {
      day,
      model: request.model,
      costMicros: request.costMicros,
      upstream: request.upstream,
      attribution: request.attribution,
    },
  });
  return request;
}

/** APIXO refused the submit: reserved, then released. */
export async function seedReleased(store: GovernanceStore, request: SubmitRequest): Promise<void> {
  const day = await admit(store, request);
  await store.releaseReservation({
    tenantId: request.tenantId,
    reservationId: request.reservationId,
    days: [day],
  });
}

/** APIXO accepted the task; it then stays pending, succeeds or fails (refunded). */
export async function seedTask(
  store: GovernanceStore,
  request: SubmitRequest,
  outcome: "pending" | "success" | "failed" = "pending",
  ttlSec = 3600,
): Promise<string> {
  const day = await admit(store, request);
  const taskId = `task-${randomUUID()}`;
  await store.recordTask({
    tenantId: request.tenantId,
    taskId,
    model: request.model,
    costMicros: request.costMicros,
    attribution: request.attribution,
    day,
    reservationId: request.reservationId,
    upstream: request.upstream,
    ttlSec,
  });
  if (outcome !== "pending") {
    await store.settleTask({ tenantId: request.tenantId, taskId, state: outcome, refund: true });
  }
  return taskId;
}

/** Spend of the tenant's UTC today, in micro-USD. */
export async function spendToday(store: GovernanceStore, tenantId: string): Promise<number> {
  const [spend] = await store.spendOfDays(tenantId, [dayWindow("UTC", Date.now()).today]);
  return spend?.spentMicros ?? 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
