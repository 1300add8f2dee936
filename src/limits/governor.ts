import type { Clock } from "../clock.js";
import { GatewayError } from "../errors/catalog.js";
import type { Logger } from "../telemetry/logger.js";
import type { GatewayEvents } from "../telemetry/events.js";
import { endChildSpan, runInSpan, startStoreSpan } from "../telemetry/spans.js";
import { DayWindowCache } from "./days.js";
import {
  StoreUnavailable,
  type DayWindow,
  type GovernanceStore,
  type SettleRequest,
  type SettleResult,
} from "./store.js";

export type FailurePolicy = "fail-closed" | "fail-open";

/** Returned instead of a decision when the store is down and the policy is fail-open. */
export interface Unguarded {
  readonly kind: "unguarded";
}
export const UNGUARDED: Unguarded = { kind: "unguarded" };

export interface GovernorDeps {
  readonly store: GovernanceStore;
  readonly clock: Clock;
  readonly events: GatewayEvents;
  readonly logger: Logger;
  readonly failurePolicy: () => FailurePolicy;
}

/**
 * The store as the request path sees it: every call timed and counted, and an unreachable store turned into
 * the configured policy (503 LIMITS_UNAVAILABLE, or proceed unguarded) instead of a hung or failed request.
 */
export class Governor {
  private readonly days = new DayWindowCache();

  constructor(private readonly deps: GovernorDeps) {}

  get store(): GovernanceStore {
    return this.deps.store;
  }

  dayWindow(timeZone: string): DayWindow {
    return this.days.get(timeZone, this.deps.clock.now());
  }

  /** A decision call on the request path: fails closed or open per policy. */
  async decide<T>(operation: string, call: (store: GovernanceStore) => Promise<T>): Promise<T | Unguarded> {
    try {
      return await this.timed(operation, call);
    } catch (err) {
      if (!(err instanceof StoreUnavailable)) throw err;
      if (this.deps.failurePolicy() === "fail-open") {
        this.deps.logger.warn({ event: "store_unavailable", operation, policy: "fail-open" }, err.message);
        return UNGUARDED;
      }
      throw limitsUnavailable(err);
    }
  }

  /**
   * A decision that also guards tenant isolation (whose task is this, what has this tenant spent): without
   * the store it cannot be made, so it fails closed whatever the policy says.
   */
  async decideStrict<T>(operation: string, call: (store: GovernanceStore) => Promise<T>): Promise<T> {
    try {
      return await this.timed(operation, call);
    } catch (err) {
      if (err instanceof StoreUnavailable) throw limitsUnavailable(err);
      throw err;
    }
  }

  /**
   * A bookkeeping call after APIXO answered (record, release, settle): the client's answer must still go out,
   * so a store fault is logged and counted, never thrown.
   */
  async record<T>(operation: string, call: (store: GovernanceStore) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.timed(operation, call);
    } catch (err) {
      this.deps.logger.error(
        { event: "store_write_failed", operation, err: err instanceof Error ? err.message : String(err) },
        "ledger write failed; the store will be reconciled by expiry",
      );
      return undefined;
    }
  }

  settle(request: SettleRequest): Promise<SettleResult | undefined> {
    return this.record("settle", (store) => store.settleTask(request));
  }

  private async timed<T>(operation: string, call: (store: GovernanceStore) => Promise<T>): Promise<T> {
    const started = this.deps.clock.monotonicMs();
    const span = startStoreSpan(operation);
    let ok = false;
    try {
      const result = await runInSpan(span, () => call(this.deps.store));
      ok = true;
      return result;
    } finally {
      endChildSpan(span, ok ? undefined : "store call failed");
      this.deps.events.storeCall({ operation, durationMs: this.deps.clock.monotonicMs() - started, ok });
    }
  }
}

function limitsUnavailable(cause: StoreUnavailable): GatewayError {
  return new GatewayError(
    "LIMITS_UNAVAILABLE",
    "The gateway cannot check limits right now (limit store unreachable); retry shortly.",
    { retryAfterSec: 1, cause },
  );
}
