import { parseStatusAnswer, type StatusAnswer } from "../apixo/answers.js";
import type { Clock } from "../clock.js";
import type { Snapshot } from "../tenants/snapshot.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { CallbackRoute } from "./store.js";
import { fetchTaskStatus } from "./upstreamStatus.js";

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
  /** Not known yet (APIXO unreachable, task still running per statusTask, submit not yet recorded). */
  | { readonly kind: "retry"; readonly reason: string }
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
  deps: { readonly clock: Clock; readonly events: GatewayEvents; readonly snapshot: Snapshot },
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
  const answer = await fetchTaskStatus(deps, {
    baseUrl: config.upstream.baseUrl,
    upstreamKey: policy.upstreamKey,
    model: route.model,
    taskId,
    timeoutMs: config.upstream.timeoutMs,
  });
  if (answer === undefined) return { kind: "retry", reason: "statusTask did not answer" };
  const status = parseStatusAnswer(answer.status, answer.body);
  if (!status.ok) return { kind: "retry", reason: `statusTask answer unusable: ${status.reason}` };
  if (status.taskId !== taskId) return { kind: "retry", reason: "statusTask answered for another task" };
  if (!terminal(status)) return { kind: "retry", reason: `statusTask says the task is ${status.state}` };
  const contradicted = claimed.ok && claimed.state !== status.state;
  return { kind: "confirmed", outcome: status, envelope: answer.body, fromStatus: true, contradicted };
}
