import { parseBalanceAnswer } from "../apixo/answers.js";
import { BALANCE_TARGET } from "../apixo/endpoints.js";
import { isJsonObject } from "../apixo/json.js";
import { microsToUsd, usdToMicros } from "../apixo/prices.js";
import type { UpstreamAnswer } from "../upstream/transport.js";
import { UpstreamError } from "../upstream/upstreamError.js";
import { policyOf, type RequestContext } from "./context.js";
import { decided, deny, setRateHeaders } from "./denials.js";
import type { RouteDeps } from "./deps.js";
import { NOTHING, jsonReply, type Reply } from "./reply.js";
import { attributionOf, type AttributionHeaders } from "./attribution.js";

/**
 * GET /api/v1/apikeys/current-balance: what the caller can still spend, in APIXO's envelope: the smallest of
 * the upstream balance and every budget that applies to it (today's, this month's, and the end user's today
 * when the request names one with X-Gateway-User).
 */
export function balanceRoute(deps: RouteDeps) {
  return async (
    ctx: RequestContext,
    request: { readonly attribution: AttributionHeaders; readonly clientGone: () => boolean },
  ): Promise<Reply> => {
    const policy = policyOf(ctx);
    const tenantId = policy.tenant.id;
    const { user } = attributionOf(ctx, request.attribution);
    // Without the store the tenant's own answer (its cap minus its spend) cannot be given, and the account's
    // raw balance is not the tenant's to see.
    const decision = decided(
      ctx,
      await deps.governor.decide("admit_balance", (store) =>
        store.admitSimple({ tenantId, buckets: policy.balanceBuckets }),
      ),
    );
    if (decision.kind === "rate_limited") throw deny(ctx, decision, "balance");
    setRateHeaders(ctx, decision.rate);
    if (request.clientGone()) return NOTHING;

    const fetched = await upstreamBalance(deps, ctx);
    if ("refused" in fetched) return { kind: "upstream", answer: fetched.refused };
    let availableMicros = usdToMicros(fetched.balanceUsd);
    const userCap = user === undefined ? null : policy.userDailyCapMicros;
    if (policy.capMicros !== null || policy.monthlyCapMicros !== null || userCap !== null) {
      const day = deps.governor.dayWindow(policy.tenant.timeZone).today;
      const snapshot = decided(
        ctx,
        await deps.governor.decide("snapshot", (store) => store.snapshot(tenantId, day, user)),
      );
      for (const [cap, spent] of [
        [policy.capMicros, snapshot.spentMicros],
        [policy.monthlyCapMicros, snapshot.monthSpentMicros],
        [userCap, snapshot.userSpentMicros],
      ] as const) {
        if (cap !== null) availableMicros = Math.min(availableMicros, Math.max(0, cap - spent));
      }
    }
    return jsonReply(200, { code: 200, message: "success", data: microsToUsd(availableMicros) });
  };
}

/** The upstream key's balance, from the short cache or one shared APIXO call; or APIXO's refusal to pass on. */
async function upstreamBalance(
  deps: RouteDeps,
  ctx: RequestContext,
): Promise<{ readonly balanceUsd: number } | { readonly refused: UpstreamAnswer }> {
  const policy = policyOf(ctx);
  let refused: UpstreamAnswer | undefined;
  const fetchBalance = async (): Promise<number | undefined> => {
    const answer = await deps.upstream.call(
      {
        operation: "balance",
        model: undefined,
        upstream: policy.tenant.upstreamKey,
        upstreamKey: policy.upstreamKey,
        target: BALANCE_TARGET,
        requestId: ctx.requestId,
        deadlineMs: ctx.startedMs + ctx.snapshot.config.upstream.timeoutMs,
        idempotent: true,
        note: (d) => ctx.facts.decisions.push(d),
      },
      ctx.facts,
    );
    const parsed = parseBalanceAnswer(answer.status, answer.body);
    if (parsed.ok) return parsed.balanceUsd;
    refused = answer;
    return undefined;
  };
  let balanceUsd: number | undefined;
  try {
    balanceUsd = await deps.balances.get(policy.tenant.upstreamKey, fetchBalance);
    // A shared fetch that APIXO refused leaves this request without an answer of its own to pass on.
    if (balanceUsd === undefined && refused === undefined) balanceUsd = await fetchBalance();
  } catch (err) {
    throw err instanceof UpstreamError ? err.toGatewayError() : err;
  }
  if (balanceUsd !== undefined) return { balanceUsd };
  if (refused === undefined || (refused.status === 200 && !isJsonObject(refused.body))) {
    throw new UpstreamError("bad_response", "balance answer unreadable").toGatewayError();
  }
  return { refused };
}
