import { accountKeys } from "../accountKeys.js";
import { TOMBSTONE_TTL_SEC, type TenantKeys } from "../keys.js";
import { answerArgs } from "../redisProtection.js";
import type { NewTask, ReleaseRequest, SettleRequest, UnknownOutcome } from "../store.js";
import { attributionArgs, daySpendKeys } from "./spend.js";
import {
  RECORD_ARGS,
  RECORD_KEYS,
  RELEASE_ARGS,
  RELEASE_KEYS,
  SETTLE_ARGS,
  SETTLE_KEYS,
  UNKNOWN_ARGS,
  UNKNOWN_KEYS,
} from "./tasks.js";

/** KEYS and ARGV of the ledger write scripts (tasks.ts), from the store's requests. */

interface Call {
  readonly keys: string[];
  readonly args: string[];
}

/** A day block (spend.ts) as the named layout entries of the ledger scripts. */
function dayBlock(k: TenantKeys, day: string) {
  const [spend = "", spendm = "", usage = "", mspend = "", musage = ""] = daySpendKeys(k, day);
  return { spend, spendm, usage, mspend, musage };
}

export function releaseCall(k: TenantKeys, prefix: string, request: ReleaseRequest): Call {
  const { idempotencyKey, account } = request;
  const keys = RELEASE_KEYS.encode({
    inflight: k.inflight,
    models: k.inflightModels,
    resv: k.reservations,
    tomb: k.tombstone(request.reservationId),
    // Placeholders in the tenant's slot when absent (the flags below say which are real).
    idem: idempotencyKey === undefined ? k.inflight : k.idem(idempotencyKey),
    acct: account === undefined ? k.inflight : accountKeys(prefix, account.upstream).inflight,
  });
  for (const day of request.days) keys.push(...daySpendKeys(k, day));
  const args = RELEASE_ARGS.encode({
    reservation: request.reservationId,
    tombTtlSec: String(TOMBSTONE_TTL_SEC),
    idem: idempotencyKey === undefined ? "0" : "1",
    acct: account === undefined ? "0" : "1",
    n: String(request.days.length),
  });
  args.push(...request.days);
  return { keys, args };
}

export function recordCall(k: TenantKeys, task: NewTask): Call {
  const idem = task.idempotency;
  const keys = RECORD_KEYS.encode({
    task: k.task(task.taskId),
    inflight: k.inflight,
    models: k.inflightModels,
    resv: k.reservations,
    tomb: k.tombstone(task.reservationId),
    tasks: k.tasks,
    idem: idem === undefined ? k.task(task.taskId) : k.idem(idem.key),
    ...dayBlock(k, task.day),
  });
  const [user, feature] = attributionArgs(task.attribution);
  const args = RECORD_ARGS.encode({
    taskId: task.taskId,
    tenantId: task.tenantId,
    model: task.model,
    cost: String(task.costMicros),
    day: task.day,
    reservation: task.reservationId,
    upstream: task.upstream,
    ttlSec: String(task.ttlSec),
    idem: idem === undefined ? "0" : "1",
    idemTtlSec: String(idem?.ttlSec ?? 0),
    status: String(idem?.answer.status ?? 0),
    ctype: idem?.answer.contentType ?? "",
    body: idem?.answer.body.toString("base64") ?? "",
    tombTtlSec: String(TOMBSTONE_TTL_SEC),
    traceparent: task.traceparent ?? "",
    user,
    feature,
  });
  return { keys, args };
}

export function unknownCall(k: TenantKeys, outcome: UnknownOutcome): Call {
  const { charge } = outcome;
  const keys = UNKNOWN_KEYS.encode({
    inflight: k.inflight,
    models: k.inflightModels,
    resv: k.reservations,
    tomb: k.tombstone(outcome.reservationId),
    ...dayBlock(k, charge.day),
  });
  const [user, feature] = attributionArgs(charge.attribution);
  const args = UNKNOWN_ARGS.encode({
    reservation: outcome.reservationId,
    reason: outcome.reason,
    day: charge.day,
    model: charge.model,
    cost: String(charge.costMicros),
    upstream: charge.upstream,
    tombTtlSec: String(TOMBSTONE_TTL_SEC),
    user,
    feature,
  });
  return { keys, args };
}

export function settleCall(k: TenantKeys, prefix: string, request: SettleRequest, day: string): Call {
  const { account } = request;
  const keys = SETTLE_KEYS.encode({
    task: k.task(request.taskId),
    inflight: k.inflight,
    models: k.inflightModels,
    refund: k.refund(day),
    acct: account === undefined ? k.inflight : accountKeys(prefix, account.upstream).inflight,
    ...dayBlock(k, day),
  });
  const [ansStatus, ansCtype, ansBody] = answerArgs(request.answer);
  const args = SETTLE_ARGS.encode({
    taskId: request.taskId,
    state: request.state,
    failCode: request.failCode ?? "",
    refund: request.refund ? "1" : "0",
    day,
    acct: account === undefined ? "0" : "1",
    ansStatus,
    ansCtype,
    ansBody,
  });
  return { keys, args };
}
