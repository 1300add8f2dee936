import type { Clock } from "../clock.js";
import { ConfigError, loadConfigFile } from "../config/load.js";
import type { GatewayConfig } from "../config/schema.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import { buildSnapshot, type Snapshot } from "../tenants/snapshot.js";
import { unpricedModelsInUse } from "../tenants/unpriced.js";

/**
 * The configuration in force. `reload` swaps in a new snapshot only if the new file is valid in every
 * respect; otherwise the old one stays and the problems are logged.
 */
export class ConfigHolder {
  private current: Snapshot;

  constructor(
    config: GatewayConfig,
    private readonly deps: { clock: Clock; logger: Logger; events: GatewayEvents; path?: string },
  ) {
    this.current = buildSnapshot(config, deps.clock.now());
    this.reportUnpriced();
  }

  /** Which models in use have no price (the tenants' unpricedModels policy applies to them). */
  private reportUnpriced(): void {
    const unpriced = unpricedModelsInUse(this.current.config, this.current.prices);
    if (unpriced.length === 0) return;
    this.deps.logger.warn(
      { event: "unpriced_models", models: unpriced.map((u) => u.model), byModel: unpriced },
      "models in use have no price: each tenant's unpricedModels policy applies (reject, or its fixed charge); " +
        "price them under governance.prices",
    );
  }

  snapshot(): Snapshot {
    return this.current;
  }

  /** Settings that cannot change without a restart (sockets, store) are reported and kept. */
  async reload(path = this.deps.path): Promise<boolean> {
    if (path === undefined) return false;
    try {
      const config = await loadConfigFile(path);
      const moved = movedTenants(this.current.config, config);
      if (moved.length > 0) throw new ConfigError("tenants moved between upstream keys", moved);
      const next = buildSnapshot(config, this.deps.clock.now());
      const restartOnly = restartOnlyChanges(this.current.config, config);
      if (restartOnly.length > 0) {
        this.deps.logger.warn(
          { event: "config_reload_partial", fields: restartOnly },
          "these settings take effect only after a restart",
        );
      }
      this.current = next;
      this.reportUnpriced();
      this.deps.events.configReloaded({ ok: true });
      return true;
    } catch (err) {
      const problems =
        err instanceof ConfigError ? err.problems : [err instanceof Error ? err.message : String(err)];
      this.deps.logger.error(
        { event: "config_reload_failed", path, problems },
        "configuration reload refused; the previous configuration stays in force",
      );
      this.deps.events.configReloaded({ ok: false });
      return false;
    }
  }
}

function restartOnlyChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (before.server.host !== after.server.host || before.server.port !== after.server.port)
    changed.push("server.port");
  if (before.server.metricsPort !== after.server.metricsPort) changed.push("server.metricsPort");
  if (!same(before.store, after.store)) changed.push("store");
  // The loggers and the audit buffer are built once, at start (cli/serve.ts).
  if (!same(before.logging, after.logging)) changed.push("logging");
  const withoutKeys = (u: GatewayConfig["upstream"]) => ({ ...u, keys: [] });
  if (!same(withoutKeys(before.upstream), withoutKeys(after.upstream)))
    changed.push("upstream (except keys)");
  return changed;
}

/**
 * A tenant's Redis keys live in its upstream account's slot (limits/keys.ts): moving it to another upstream
 * key at a reload would leave its day's spend and open tasks behind. That is a migration, not a reload.
 */
function movedTenants(before: GatewayConfig, after: GatewayConfig): string[] {
  const was = new Map(before.tenants.map((t) => [t.id, t.upstreamKey]));
  return after.tenants.flatMap((t) => {
    const old = was.get(t.id);
    if (old === undefined || old === t.upstreamKey) return [];
    return [
      `tenants ${t.id}: upstreamKey changed from ${old} to ${t.upstreamKey}; its spend and tasks live with its ` +
        `upstream key's account (docs/scaling.md, "Moving a tenant"): it takes a restart, and starts afresh there`,
    ];
  });
}
