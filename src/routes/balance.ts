import type { IncomingMessage, ServerResponse } from "node:http";
import { parseBalanceAnswer } from "../apixo/answers.js";
import { microsToUsd, usdToMicros } from "../apixo/prices.js";
import { deny, setRateHeaders } from "./denials.js";
import type { ProxyDeps } from "./deps.js";
import { sendAnswer, type UpstreamAnswer } from "../upstream/transport.js";
import { isJsonObject } from "../apixo/json.js";
import { callProtected } from "../upstream/protectedCall.js";
import { UpstreamError } from "../upstream/upstreamError.js";

/**
 * GET /api/v1/apikeys/current-balance — what this tenant can still spend today:
 * min(daily cap - spent today, upstream balance), in APIXO's envelope.
 */
export function balanceHandler(deps: ProxyDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ctx = deps.contexts.get(req);
    const policy = deps.contexts.policy(req);
    const tenantId = policy.tenant.id;

    // Strict: without the store the tenant's own answer (its cap minus its spend) cannot be given, and the
    // account's raw balance is not the tenant's to see.
    const decision = await deps.governor.decideStrict("admit_balance", (store) =>
      store.admitSimple({ tenantId, buckets: policy.balanceBuckets }),
    );
    if (decision.kind === "rate_limited") throw deny(res, ctx, decision, "balance");
    setRateHeaders(res, decision.rate);

    let refused: UpstreamAnswer | undefined;
    const fetchBalance = async (): Promise<number | undefined> => {
      const answer = await callProtected(deps, req, res, {
        operation: "balance",
        model: undefined,
        upstreamKey: policy.upstreamKey,
        upstream: policy.tenant.upstreamKey,
        idempotent: true,
      });
      const parsed = parseBalanceAnswer(answer.status, answer.body);
      if (parsed.ok) return parsed.balanceUsd;
      refused = answer;
      return undefined;
    };
    let upstreamUsd: number | undefined;
    try {
      upstreamUsd = await deps.balances.get(policy.tenant.upstreamKey, fetchBalance);
      // A shared fetch that APIXO refused leaves this request without an answer of its own to pass on.
      if (upstreamUsd === undefined && refused === undefined) upstreamUsd = await fetchBalance();
    } catch (err) {
      throw err instanceof UpstreamError ? err.toGatewayError() : err;
    }
    if (upstreamUsd === undefined) {
      if (refused === undefined || (refused.status === 200 && !isJsonObject(refused.body))) {
        throw new UpstreamError("bad_response", "balance answer unreadable").toGatewayError();
      }
      sendAnswer(res, refused);
      return;
    }

    let availableMicros = usdToMicros(upstreamUsd);
    if (policy.capMicros !== null) {
      const day = deps.governor.dayWindow(policy.tenant.timeZone).today;
      const snapshot = await deps.governor.decideStrict("snapshot", (store) => store.snapshot(tenantId, day));
      availableMicros = Math.min(availableMicros, Math.max(0, policy.capMicros - snapshot.spentMicros));
    }
    const body = Buffer.from(
      JSON.stringify({ code: 200, message: "success", data: microsToUsd(availableMicros) }),
    );
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(body.length),
    });
    res.end(body);
  };
}
