import type { TenantHistory, TenantRollup, TenantUsageRow } from "../admin/usage.js";
import { fail, printUsage, type UsageQuery } from "./usage.js";
import type { UsageFormat, UsageView } from "./usageOutput.js";

export interface AdminUsageOptions {
  /** The running gateway's metrics/admin base URL, e.g. http://localhost:9464. */
  readonly adminUrl: string;
  readonly query: UsageQuery;
  readonly format: UsageFormat;
}

/** The admin API path answering `query` (docs/admin.md). */
export function adminPathOf(query: UsageQuery): string {
  if (query.kind === "tenants") return "/admin/tenants";
  const tenant = `/admin/tenants/${encodeURIComponent(query.tenant)}`;
  if (query.kind === "history") return `${tenant}/usage?days=${String(query.days)}`;
  const { kind, name } = query.period;
  const period = name === undefined ? `period=${kind}` : `${kind}=${name}`;
  return `${tenant}/rollup?by=${query.by}&${period}`;
}

/** The admin API's answer as the view it is (the gateway and this command are one version). */
function viewOf(query: UsageQuery, body: unknown): UsageView {
  switch (query.kind) {
    case "tenants":
      return { kind: "tenants", tenants: (body as { tenants: TenantUsageRow[] }).tenants };
    case "history":
      return { kind: "history", history: body as TenantHistory };
    case "rollup":
      return { kind: "rollup", rollup: body as TenantRollup };
  }
}

/**
 * The same report as `usage --config`, read from a running gateway's admin API instead of from Redis: the
 * way to see the usage of a gateway whose store lives in its own process (the in-memory store of `demo`).
 * The token comes from APIXO_GATEWAY_ADMIN_TOKEN (never a flag: it would show in `ps`).
 */
export async function adminUsageCommand(options: AdminUsageOptions): Promise<number> {
  const token = process.env.APIXO_GATEWAY_ADMIN_TOKEN;
  if (token === undefined || token === "")
    return fail("set APIXO_GATEWAY_ADMIN_TOKEN to the gateway's admin.token");
  const base = options.adminUrl.replace(/\/+$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}${adminPathOf(options.query)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
  } catch (err) {
    return fail(`cannot reach the admin API at ${base}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const message = (body as { message?: unknown } | undefined)?.message;
    return fail(
      `the admin API answered ${String(res.status)}: ${typeof message === "string" ? message : "no message"}`,
    );
  }
  return printUsage(viewOf(options.query, body), options.format);
}
