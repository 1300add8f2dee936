import type { Clock } from "../clock.js";
import type { GatewayConfig } from "../config/schema.js";
import { Journal } from "../ledger/journal.js";
import { OrphanSweeper, orphanAfterMs } from "../ledger/sweeper.js";
import { LedgerWriter } from "../ledger/writer.js";
import type { Governor } from "../limits/governor.js";
import { localDay } from "../limits/days.js";
import { monthOf, type GovernanceStore } from "../limits/store.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";

export interface LedgerParts {
  readonly journal: Journal;
  readonly writer: LedgerWriter;
  readonly sweeper: OrphanSweeper;
}

/** The write-behind journal, the writer every ledger write goes through, and the orphan sweep. */
export function buildLedger(
  config: GatewayConfig,
  deps: {
    readonly store: GovernanceStore;
    readonly governor: Governor;
    readonly clock: Clock;
    readonly events: GatewayEvents;
    readonly logger: Logger;
    readonly current: () => GatewayConfig;
  },
): LedgerParts {
  const { store, governor, clock, events, logger } = deps;
  const journal = new Journal({
    maxEntries: config.store.journal.maxEntries,
    path: config.store.journal.path,
    onChange: (depth, dropped) => {
      events.ledgerJournal({ depth, dropped });
    },
  });
  const writer = new LedgerWriter({
    store,
    journal,
    events,
    clock,
    logger,
    observe: (operation, call, traceparents) => governor.observe(operation, call, traceparents),
    sleep: (ms) => clock.sleep(ms),
  });
  // A journal kept on disk by an earlier run of this process is applied as soon as the store answers.
  writer.resume();
  const sweeper = new OrphanSweeper({
    store,
    events,
    logger,
    reconcile: async (tenant) => {
      const timeZone = deps.current().tenants.find((t) => t.id === tenant)?.timeZone ?? "UTC";
      await store.reconcileMonth(tenant, monthOf(localDay(timeZone, clock.now())));
    },
    settings: () => {
      const c = deps.current();
      return {
        tenants: c.tenants.map((t) => t.id),
        intervalMs: c.governance.orphanSweepSeconds * 1000,
        orphanAfterMs: orphanAfterMs(c.upstream.timeoutMs),
      };
    },
  });
  return { journal, writer, sweeper };
}
