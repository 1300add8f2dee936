import type { GatewayConfig } from "../config/schema.js";
import type { SettleResult, StoredAnswer, TaskRecord, TerminalState } from "../limits/store.js";
import { accountSlotOf } from "../tenants/policy.js";
import type { LedgerWriter } from "./writer.js";

export interface ObservedOutcome {
  readonly state: TerminalState;
  readonly failCode: string | undefined;
  readonly costTimeMs: number | undefined;
  /** APIXO's terminal answer for the status cache. */
  readonly answer?: StoredAnswer;
}

/** The refund policy: failed tasks go back to their day unless refunds are off or the failCode is excluded. */
export function shouldRefund(governance: GatewayConfig["governance"], outcome: ObservedOutcome): boolean {
  if (outcome.state !== "failed" || !governance.refundFailedTasks) return false;
  return outcome.failCode === undefined || !governance.noRefundFailCodes.includes(outcome.failCode);
}

/**
 * Settles a task the first time anyone sees it finish (a poll, or a callback's confirmation): once however
 * many race here, refunded per policy, and only the call that settled reports taskFinished (the writer does, when the
 * settle is applied: at once, or from the journal once the store is back). Undefined when not applied now.
 */
export async function settleOutcome(
  deps: { readonly ledger: LedgerWriter },
  config: GatewayConfig,
  task: TaskRecord,
  outcome: ObservedOutcome,
): Promise<SettleResult | undefined> {
  // A settled task is visited again only to keep its answer (it settled before the cache had it).
  if ((task.state === "success" || task.state === "failed") && outcome.answer === undefined) return undefined;
  const account = accountSlotOf(config, task.upstream);
  const written = await deps.ledger.settle({
    kind: "settle",
    settle: {
      tenantId: task.tenantId,
      taskId: task.taskId,
      state: outcome.state,
      ...(outcome.failCode === undefined ? {} : { failCode: outcome.failCode }),
      refund: shouldRefund(config.governance, outcome),
      day: task.day,
      ...(outcome.answer === undefined ? {} : { answer: outcome.answer }),
      ...(account === undefined ? {} : { account }),
    },
    report: { tenant: task.tenantId, model: task.model, costTimeMs: outcome.costTimeMs },
  });
  return written.applied ? written.result : undefined;
}
