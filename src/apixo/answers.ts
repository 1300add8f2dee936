/**
 * Reading APIXO's answers from the bytes the gateway buffered. Nothing in them is trusted: a charge, a task
 * ownership record or a metric is derived only from fields that have exactly the documented type.
 * Hot path: one JSON.parse and plain checks, no schema library.
 */
import { TASK_STATES } from "./models.js";
import type { TaskState } from "./models.js";

export type SubmitAnswer = { accepted: true; taskId: string } | { accepted: false; reason: string };

export type StatusAnswer =
  | {
      ok: true;
      taskId: string;
      state: TaskState;
      failCode?: string;
      failMsg?: string;
      costTimeMs?: number;
      createTime?: number;
      completeTime?: number;
    }
  | { ok: false; reason: string };

export type BalanceAnswer = { ok: true; balanceUsd: number } | { ok: false; reason: string };

/**
 * Task ids end up in store keys and logs; docs show `task_12345678` and 32 hex chars, so anything long or holding
 * whitespace or control characters is not an id we are willing to record.
 */
const MAX_TASK_ID_CHARS = 200;
const SANE_TASK_ID = /^[\x21-\x7e]+$/;
/** Upstream text quoted in a reason is cut, so a hostile answer cannot flood the logs. */
const MAX_QUOTED_CHARS = 200;

type Envelope = { ok: true; data: unknown } | { ok: false; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function quote(value: unknown): string {
  const text = typeof value === "string" ? value : value === undefined ? "undefined" : JSON.stringify(value);
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}...` : text;
}

/** Checks HTTP 200, JSON, and the envelope's own code 200, and hands back `data`. */
function readEnvelope(status: number, body: Buffer): Envelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return { ok: false, reason: `HTTP ${status} with a body that is not JSON` };
  }
  if (!isRecord(parsed))
    return { ok: false, reason: `HTTP ${status} with a JSON body that is not an object` };
  const code = parsed.code;
  if (status !== 200) return { ok: false, reason: `HTTP ${status}: ${quote(parsed.message)}` };
  if (code !== 200) {
    return { ok: false, reason: `envelope code ${quote(code)} (not 200): ${quote(parsed.message)}` };
  }
  return { ok: true, data: parsed.data };
}

/** Also the gateway's rule for a task id a client polls (src/http/query.ts): one rule for what can be in the ledger. */
export function isSaneTaskId(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_TASK_ID_CHARS && SANE_TASK_ID.test(value);
}

function nonNegativeNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function parseSubmitAnswer(status: number, body: Buffer): SubmitAnswer {
  const envelope = readEnvelope(status, body);
  if (!envelope.ok) return { accepted: false, reason: envelope.reason };
  const data = envelope.data;
  if (!isRecord(data)) return { accepted: false, reason: "data is not an object" };
  if (!isSaneTaskId(data.taskId)) {
    return {
      accepted: false,
      reason: `data.taskId is missing, empty or not a plain id: ${quote(data.taskId)}`,
    };
  }
  return { accepted: true, taskId: data.taskId };
}

const KNOWN_STATES: ReadonlySet<string> = new Set(TASK_STATES);

function isTaskState(value: unknown): value is TaskState {
  return typeof value === "string" && KNOWN_STATES.has(value);
}

export function parseStatusAnswer(status: number, body: Buffer): StatusAnswer {
  const envelope = readEnvelope(status, body);
  if (!envelope.ok) return envelope;
  const data = envelope.data;
  if (!isRecord(data)) return { ok: false, reason: "data is not an object" };
  if (!isSaneTaskId(data.taskId)) {
    return { ok: false, reason: `data.taskId is missing, empty or not a plain id: ${quote(data.taskId)}` };
  }
  if (!isTaskState(data.state)) {
    return { ok: false, reason: `data.state ${quote(data.state)} is not one of ${TASK_STATES.join(", ")}` };
  }
  const answer: StatusAnswer = { ok: true, taskId: data.taskId, state: data.state };
  // Optional fields of the wrong type are dropped, not fatal: the state alone decides charging and refunds.
  if (typeof data.failCode === "string" && data.failCode !== "") answer.failCode = data.failCode;
  if (typeof data.failMsg === "string") answer.failMsg = data.failMsg;
  const costTimeMs = nonNegativeNumber(data.costTime);
  if (costTimeMs !== undefined) answer.costTimeMs = costTimeMs;
  const createTime = nonNegativeNumber(data.createTime);
  if (createTime !== undefined) answer.createTime = createTime;
  const completeTime = nonNegativeNumber(data.completeTime);
  if (completeTime !== undefined) answer.completeTime = completeTime;
  return answer;
}

export function parseBalanceAnswer(status: number, body: Buffer): BalanceAnswer {
  const envelope = readEnvelope(status, body);
  if (!envelope.ok) return envelope;
  const data = envelope.data;
  if (typeof data !== "number" || !Number.isFinite(data)) {
    return { ok: false, reason: `data is not a balance in USD: ${quote(data)}` };
  }
  return { ok: true, balanceUsd: data };
}
