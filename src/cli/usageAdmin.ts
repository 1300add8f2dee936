import type { TenantHistory, TenantUsageRow } from "../admin/usage.js";
import { fail, historyTable, tenantsTable } from "./usage.js";

export interface AdminUsageOptions {
  /** The running gateway's metrics/admin base URL, e.g. http://localhost:9464. */
  readonly adminUrl: string;
  readonly tenant?: string;
  readonly days: number;
  readonly json: boolean;
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
  const path =
    options.tenant === undefined
      ? "/admin/tenants"
      : `/admin/tenants/${encodeURIComponent(options.tenant)}/usage?days=${String(options.days)}`;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
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
  if (options.tenant === undefined) {
    const { tenants } = body as { tenants: TenantUsageRow[] };
    process.stdout.write(
      options.json ? `${JSON.stringify({ tenants }, null, 2)}\n` : `${tenantsTable(tenants)}\n`,
    );
    return 0;
  }
  const history = body as TenantHistory;
  process.stdout.write(options.json ? `${JSON.stringify(history, null, 2)}\n` : `${historyTable(history)}\n`);
  return 0;
}
