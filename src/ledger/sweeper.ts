import type { Ledger } from "../limits/store.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";

export interface OrphanSweeperDeps {
  readonly store: Pick<Ledger, "markOrphans">;
  readonly events: GatewayEvents;
  readonly logger: Logger;
  /**
   * Run once per tenant and process, at the first pass the store answers (reconcileMonth: month totals that
   * predate the version keeping them). Passes retry a tenant whose reconcile failed.
   */
  readonly reconcile?: (tenant: string) => Promise<void>;
  /** Read at each pass, so a reload's tenants and settings apply at once. */
  readonly settings: () => {
    readonly tenants: readonly string[];
    readonly intervalMs: number;
    readonly orphanAfterMs: number;
  };
}

/**
 * How long after its admission a reservation still open is an orphan: no request can still be deciding its
 * fate once the upstream timeout has passed, so a gateway died (or lost a journal) between admitting and
 * settling it. The margin covers the steps around the upstream call.
 */
export function orphanAfterMs(upstreamTimeoutMs: number): number {
  return upstreamTimeoutMs + 30_000;
}

/**
 * Marks orphaned reservations as unknown outcomes, so they are counted once (the store marks each once,
 * whichever replica's sweep finds it), listed by the admin API and `ledger check`, and releasable by an
 * operator. The charge stays: the gateway cannot know whether the request reached APIXO.
 */
export class OrphanSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private readonly reconciled = new Set<string>();

  constructor(private readonly deps: OrphanSweeperDeps) {}

  start(): void {
    const { intervalMs } = this.deps.settings();
    if (intervalMs <= 0) return;
    const pass = () => {
      this.running ??= this.sweep().finally(() => {
        this.running = undefined;
      });
    };
    // The first pass at once: a month total from an earlier version is reconciled before it is relied on.
    if (this.deps.reconcile !== undefined) pass();
    this.timer = setInterval(pass, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every tenant; a store fault only delays the pass to the next interval. */
  async sweep(): Promise<number> {
    const { tenants, orphanAfterMs } = this.deps.settings();
    let total = 0;
    for (const tenant of tenants) {
      try {
        if (this.deps.reconcile !== undefined && !this.reconciled.has(tenant)) {
          await this.deps.reconcile(tenant);
          this.reconciled.add(tenant);
        }
        const marked = await this.deps.store.markOrphans(tenant, orphanAfterMs);
        if (marked.length === 0) continue;
        total += marked.length;
        this.deps.events.ledgerOrphans({ tenant, count: marked.length });
        this.deps.logger.warn(
          { event: "ledger_orphans", tenant, reservations: marked.map((r) => r.reservationId) },
          "reservations nobody settled are kept as unknown outcomes",
        );
      } catch (err) {
        this.deps.logger.warn(
          { event: "orphan_sweep_failed", tenant, err: err instanceof Error ? err.message : String(err) },
          "orphan sweep failed; retrying at the next interval",
        );
      }
    }
    return total;
  }
}
