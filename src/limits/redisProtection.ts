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

/** The cached terminal answer among a record's fields (see recordFields), if the ledger keeps one. */
export function cachedAnswerFrom(fields: ReadonlyMap<string, string>): StoredAnswer | undefined {
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
export function answerArgs(answer: StoredAnswer | undefined): [string, string, string] {
  if (answer === undefined) return ["", "", ""];
  return [String(answer.status), answer.contentType, answer.body.toString("base64")];
}
