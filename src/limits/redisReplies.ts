import { isCapWindow, type CapWindow } from "./budget.js";
import type {
  ExpiredTask,
  LedgerState,
  RateInfo,
  StoredAnswer,
  SubmitDecision,
  TaskRecord,
} from "./store.js";

/** Decoding of script replies: flat arrays of bulk strings and integers (see the reply layouts in lua/). */

export type Reply = readonly unknown[];

export function asReply(value: unknown): Reply {
  if (!Array.isArray(value)) throw new Error(`unexpected script reply: ${typeof value}`);
  return value;
}

export function str(reply: Reply, index: number): string {
  const value = reply[index];
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return "";
}

export function num(reply: Reply, index: number): number {
  const value = Number(str(reply, index));
  if (!Number.isFinite(value)) throw new Error(`script reply field ${index} is not a number`);
  return value;
}

/** A number, or null for the empty string the scripts send for "none". */
export function optionalNum(reply: Reply, index: number): number | null {
  return str(reply, index) === "" ? null : num(reply, index);
}

export function capWindowAt(reply: Reply, index: number): CapWindow {
  const value = str(reply, index);
  if (!isCapWindow(value)) throw new Error(`script reply: unknown cap window ${value}`);
  return value;
}

export function rateAt(reply: Reply, index: number): RateInfo {
  return { limit: num(reply, index), remaining: num(reply, index + 1), resetSec: num(reply, index + 2) };
}

export function expiredFrom(reply: Reply, index: number): ExpiredTask[] {
  const out: ExpiredTask[] = [];
  for (let i = index; i + 1 < reply.length; i += 2)
    out.push({ taskId: str(reply, i), model: str(reply, i + 1) });
  return out;
}

export function answerFrom(reply: Reply, index: number): StoredAnswer {
  return {
    status: num(reply, index),
    contentType: str(reply, index + 1),
    // Bodies travel as base64 so that replies stay text and replays are byte-exact.
    body: Buffer.from(str(reply, index + 2), "base64"),
  };
}

const STATES: readonly string[] = ["pending", "success", "failed", "expired"];

function isLedgerState(value: string): value is LedgerState {
  return STATES.includes(value);
}

/** The HGETALL pairs of a record block (the in-flight flag at `index`, then the pairs), as a map. */
export function recordFields(reply: Reply, index: number): ReadonlyMap<string, string> {
  const fields = new Map<string, string>();
  for (let i = index + 1; i + 1 < reply.length; i += 2) fields.set(str(reply, i), str(reply, i + 1));
  return fields;
}

/** A record block: the in-flight flag at `index`, then HGETALL pairs; null when the ledger has no such task. */
export function recordFrom(reply: Reply, index: number, tenantId: string): TaskRecord | null {
  return taskFrom(recordFields(reply, index), num(reply, index) === 1, tenantId);
}

/** The ledger record from its fields; null when there is none, or it is another tenant's. */
export function taskFrom(
  fields: ReadonlyMap<string, string>,
  inFlight: boolean,
  tenantId: string,
): TaskRecord | null {
  if (fields.size === 0 || fields.get("tenantId") !== tenantId) return null;
  const stored = fields.get("state") ?? "pending";
  let state: LedgerState = isLedgerState(stored) ? stored : "pending";
  // The sweep removes only the in-flight slot; a pending task without one has expired.
  if (state === "pending" && !inFlight) state = "expired";
  const failCode = fields.get("failCode");
  const traceparent = fields.get("tp");
  const user = fields.get("user");
  const feature = fields.get("feature");
  return {
    taskId: fields.get("taskId") ?? "",
    tenantId,
    model: fields.get("model") ?? "",
    costMicros: Number(fields.get("cost") ?? "0"),
    day: fields.get("day") ?? "",
    submittedAtMs: Number(fields.get("submittedAt") ?? "0"),
    reservationId: fields.get("res") ?? "",
    upstream: fields.get("upstream") ?? "",
    state,
    refundedMicros: Number(fields.get("refunded") ?? "0"),
    ...(failCode === undefined ? {} : { failCode }),
    ...(traceparent === undefined || traceparent === "" ? {} : { traceparent }),
    ...(user === undefined || user === "" ? {} : { user }),
    ...(feature === undefined || feature === "" ? {} : { feature }),
  };
}

export function rateLimitedFrom(r: Reply) {
  return { kind: "rate_limited", bucket: str(r, 1), retryAfterSec: num(r, 2), rate: rateAt(r, 3) } as const;
}

export function submitDecisionFrom(r: Reply): SubmitDecision {
  switch (str(r, 0)) {
    case "admitted":
      return {
        kind: "admitted",
        day: str(r, 1),
        spentMicros: num(r, 2),
        remainingMicros: optionalNum(r, 3),
        rate: rateAt(r, 4),
        expired: expiredFrom(r, 7),
      };
    case "replay":
      return {
        kind: "replay",
        answer: answerFrom(r, 1),
        rate: rateAt(r, 4),
        spentMicros: num(r, 7),
        remainingMicros: optionalNum(r, 8),
      };
    case "in_progress":
      return { kind: "in_progress" };
    case "void":
      return { kind: "void" };
    case "rate_limited":
      return rateLimitedFrom(r);
    case "concurrency_limited":
      return {
        kind: "concurrency_limited",
        inFlight: num(r, 1),
        limit: num(r, 2),
        retryAfterSec: num(r, 3),
        rate: rateAt(r, 4),
      };
    case "spend_cap":
      return {
        kind: "spend_cap",
        window: capWindowAt(r, 1),
        day: str(r, 2),
        capMicros: num(r, 3),
        spentMicros: num(r, 4),
        costMicros: num(r, 5),
        rate: rateAt(r, 6),
      };
    default:
      throw new Error(`admitSubmit: unexpected reply ${str(r, 0)}`);
  }
}
