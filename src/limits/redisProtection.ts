import { num, rateAt, str, type Reply } from "./redisReplies.js";
import type { AccountDenial, StoredAnswer } from "./store.js";

/** Decoding of the upstream-protection parts of script replies (see lua/account.ts and LUA_SETTLE). */

/** `{ 'account_limited', reason, retryAfterSec, limit, remaining, resetSec }`, or null for any other reply. */
export function accountDenialFrom(r: Reply, upstream: string): AccountDenial | null {
  if (str(r, 0) !== "account_limited") return null;
  return {
    kind: "account_limited",
    upstream,
    reason: str(r, 1) === "concurrency" ? "concurrency" : "rate",
    retryAfterSec: num(r, 2),
    rate: rateAt(r, 3),
  };
}

/** The cached terminal answer inside a record block (in-flight flag at `index`, then HGETALL pairs). */
export function cachedAnswerFrom(r: Reply, index: number): StoredAnswer | undefined {
  const fields = new Map<string, string>();
  for (let i = index + 1; i + 1 < r.length; i += 2) fields.set(str(r, i), str(r, i + 1));
  const status = Number(fields.get("ansStatus"));
  const body = fields.get("ansBody");
  if (!Number.isInteger(status) || body === undefined) return undefined;
  // Bodies travel as base64 so that replies stay text and cached answers are byte-exact.
  return {
    status,
    contentType: fields.get("ansCtype") ?? "application/json",
    body: Buffer.from(body, "base64"),
  };
}

/** ARGV tail of LUA_SETTLE for an answer to keep (empty status: none). */
export function answerArgs(answer: StoredAnswer | undefined): string[] {
  if (answer === undefined) return ["", "", ""];
  return [String(answer.status), answer.contentType, answer.body.toString("base64")];
}
