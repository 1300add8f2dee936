import { parseStatusAnswer, type StatusAnswer } from "../apixo/answers.js";
import { statusTarget } from "../apixo/endpoints.js";
import type { Clock } from "../clock.js";
import { isOverloaded, isStoreDown, type Governor } from "../limits/governor.js";
import type { TenantPolicy } from "../tenants/policy.js";
import type { Snapshot } from "../tenants/snapshot.js";
import type { UpstreamClient } from "../upstream/client.js";
import type { UpstreamAnswer } from "../upstream/transport.js";
import type { CallbackRoute } from "./store.js";

type Terminal = Extract<StatusAnswer, { ok: true }> & { readonly state: "success" | "failed" };

export type Confirmation =
  /** The outcome to settle and the exact bytes to relay; `fromStatus` when statusTask said so. */
  | {
      readonly kind: "confirmed";
      readonly outcome: Terminal;
      readonly envelope: Buffer;
      readonly fromStatus: boolean;
      /** The callback's body claimed another state than statusTask (forged or stale): logged. */
      readonly contradicted: boolean;
    }
  /**
   * Not known yet (APIXO unreachable, task still running per statusTask, submit not yet recorded, the account's
   * request budget spent): try again, not before `afterMs` when given.
   */
  | { readonly kind: "retry"; readonly reason: string; readonly afterMs?: number }
  /** The callback is not about this token's task, or (unconfirmed mode) is not a terminal status envelope. */
  | { readonly kind: "reject"; readonly reason: string };

function terminal(answer: StatusAnswer): answer is Terminal {
  return answer.ok && (answer.state === "success" || answer.state === "failed");
}

/**
 * What a callback means. APIXO does not sign callbacks, so by default the body is only a hint: the outcome and
 * the envelope relayed are statusTask's (callbacks.confirmWithStatus). With confirmation off the body is used
 * as sent, but it must still name this token's task and a terminal state.
 */
export async function confirmCallback(
  deps: {
    readonly clock: Clock;
    readonly snapshot: Snapshot;
    readonly governor: Governor;
    readonly upstream: UpstreamClient;
  },
  route: CallbackRoute,
  callbackBody: string,
): Promise<Confirmation> {
  const taskId = route.taskId;
  if (taskId === undefined) return { kind: "retry", reason: "the submit is not recorded yet" };
  const claimed = parseStatusAnswer(200, Buffer.from(callbackBody, "utf8"));
  if (claimed.ok && claimed.taskId !== taskId) {
    return { kind: "reject", reason: `the callback names task ${claimed.taskId}, not ${taskId}` };
  }
  const { config } = deps.snapshot;
  if (!config.callbacks.confirmWithStatus) {
    if (!terminal(claimed))
      return { kind: "reject", reason: "the callback is not a terminal status envelope" };
    const envelope = Buffer.from(callbackBody, "utf8");
    return { kind: "confirmed", outcome: claimed, envelope, fromStatus: false, contradicted: false };
  }
  const policy = deps.snapshot.policy(route.tenantId);
  if (policy === undefined)
    return { kind: "reject", reason: `tenant ${route.tenantId} is no longer configured` };
  // The confirmation is a statusTask call on the tenant's APIXO account like a poll: it takes the account's
  // request budget the same way (and nothing of the tenant's own buckets, which are for its clients).
  const admitted = await deps.governor.decide("callback_admit", (store) =>
    store.admitStatus({
      tenantId: route.tenantId,
      buckets: [],
      taskId,
      ...(policy.account === undefined ? {} : { account: policy.account }),
    }),
  );
  if (isStoreDown(admitted) || isOverloaded(admitted))
    return { kind: "retry", reason: "the limit store is busy" };
  if (admitted.kind === "account_limited") {
    return {
      kind: "retry",
      reason: "the shared APIXO account is at its request limit",
      afterMs: admitted.retryAfterSec * 1000,
    };
  }
  // A poll already settled the task and the store kept statusTask's answer: that answer is the confirmation.
  // Asking APIXO again would be a call the account's budget never saw (no token is taken for a cached answer).
  const cached = admitted.kind === "admitted" ? admitted.cached : undefined;
  const answer = cached ?? (await askStatusTask(deps, policy, route.model, taskId));
  if (answer === undefined) return { kind: "retry", reason: "statusTask did not answer" };
  const status = parseStatusAnswer(answer.status, answer.body);
  if (!status.ok) return { kind: "retry", reason: `statusTask answer unusable: ${status.reason}` };
  if (status.taskId !== taskId) return { kind: "retry", reason: "statusTask answered for another task" };
  if (!terminal(status)) return { kind: "retry", reason: `statusTask says the task is ${status.state}` };
  const contradicted = claimed.ok && claimed.state !== status.state;
  return { kind: "confirmed", outcome: status, envelope: answer.body, fromStatus: true, contradicted };
}

/** statusTask for the task through the one upstream client; undefined when APIXO gave no answer. */
async function askStatusTask(
  deps: { readonly clock: Clock; readonly snapshot: Snapshot; readonly upstream: UpstreamClient },
  policy: TenantPolicy,
  model: string,
  taskId: string,
): Promise<UpstreamAnswer | undefined> {
  try {
    return await deps.upstream.call({
      operation: "callback",
      model,
      upstream: policy.tenant.upstreamKey,
      upstreamKey: policy.upstreamKey,
      target: statusTarget(model, taskId),
      requestId: `callback-${taskId}`.slice(0, 128),
      deadlineMs: deps.clock.monotonicMs() + deps.snapshot.config.upstream.timeoutMs,
      idempotent: true,
    });
  } catch {
    return undefined;
  }
}
