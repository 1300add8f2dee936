import { GatewayError } from "../errors/catalog.js";
import type { RequestContext } from "./context.js";

const HOW_TO = "send 'Authorization: Bearer agw_...' with the gateway key your platform team gave you";

/**
 * Resolves the gateway key to its tenant and puts the tenant's policy on the context; throws the client's
 * error otherwise. Every failure looks alike to the client except "disabled".
 */
export function authenticate(ctx: RequestContext, authorization: string | undefined): void {
  const result = ctx.snapshot.directory.authenticate(authorization);
  switch (result.kind) {
    case "ok": {
      const policy = ctx.snapshot.policy(result.tenant.id);
      if (policy === undefined) throw new Error(`no policy for tenant ${result.tenant.id}`);
      ctx.policy = policy;
      ctx.facts.tenant = policy.tenant.id;
      ctx.facts.upstream = policy.tenant.upstreamKey;
      ctx.facts.keyLabel = result.keyLabel;
      return;
    }
    case "disabled":
      throw new GatewayError(
        "TENANT_DISABLED",
        `Tenant '${result.tenant.id}' is disabled; ask your platform team to re-enable it.`,
      );
    case "missing":
      throw new GatewayError("UNAUTHENTICATED", `Missing gateway key: ${HOW_TO}.`);
    case "malformed":
      throw new GatewayError("UNAUTHENTICATED", `Malformed gateway key: ${HOW_TO}.`);
    case "unknown":
      throw new GatewayError(
        "UNAUTHENTICATED",
        "Unknown gateway key: check that it has not been rotated out.",
      );
  }
}
