import type { Clock } from "../clock.js";
import type { Logger } from "../telemetry/logger.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Tracer } from "../telemetry/tracer.js";
import { DayWindowCache } from "./days.js";
import { AdmissionGate, type GateLimits, type Overloaded } from "./gate.js";
import { StoreUnavailable, type DayWindow, type GovernanceStore } from "./store.js";

export type FailurePolicy = "fail-closed" | "fail-open";

/** Returned instead of a decision when the store cannot be asked: the caller applies the failure policy. */
export interface StoreDown {
  readonly kind: "store_down";
  readonly failOpen: boolean;
  /** The call may still run in the store later (see StoreUnavailable.maybeApplied). */
  readonly maybeApplied: boolean;
  readonly cause: StoreUnavailable;
}

export interface GovernorDeps {
  readonly store: GovernanceStore;
  readonly clock: Clock;
  readonly events: GatewayEvents;
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly failurePolicy: () => FailurePolicy;
  readonly gate: () => GateLimits;
  /** The store's kind for its spans' `db.system.name` (default redis). */
  readonly storeSystem?: string;
}

/**
 * The store as the request path sees it: every call timed and counted, admissions bounded (past the bound:
 * shed before anything is reserved), and an unreachable store turned into a value (`store_down`) that the
 * route maps to its answer (routes/denials.ts), instead of a hung or failed request.
 */
export class Governor {
  private readonly days = new DayWindowCache();
  private readonly gate: AdmissionGate;

  constructor(private readonly deps: GovernorDeps) {
    this.gate = new AdmissionGate(deps.gate);
  }

  get store(): GovernanceStore {
    return this.deps.store;
  }

  dayWindow(timeZone: string): DayWindow {
    return this.days.get(timeZone, this.deps.clock.now());
  }

  /** An admission on the request path; the route decides what a down store or an overload means. */
  async decide<T>(
    operation: string,
    call: (store: GovernanceStore) => Promise<T>,
  ): Promise<T | StoreDown | Overloaded> {
    try {
      return await this.gate.run(() => this.observe(operation, () => call(this.deps.store)));
    } catch (err) {
      if (!(err instanceof StoreUnavailable)) throw err;
      const failOpen = this.deps.failurePolicy() === "fail-open";
      this.deps.logger.warn(
        { event: "store_unavailable", operation, policy: failOpen ? "fail-open" : "fail-closed" },
        err.message,
      );
      return { kind: "store_down", failOpen, maybeApplied: err.maybeApplied, cause: err };
    }
  }

  /**
   * Times and counts one store call (metrics and a span), for every caller of the store. A call made for
   * several requests (a batch of task records) is its own span, linked to each submit's (`traceparents`).
   */
  async observe<T>(
    operation: string,
    call: () => Promise<T>,
    traceparents?: readonly (string | undefined)[],
  ): Promise<T> {
    const started = this.deps.clock.monotonicMs();
    const { tracer } = this.deps;
    const span = tracer.store(operation, this.deps.storeSystem ?? "redis");
    for (const traceparent of traceparents ?? []) tracer.link(span, traceparent, "submit");
    let ok = false;
    try {
      const result = await tracer.run(span, call);
      ok = true;
      return result;
    } finally {
      tracer.end(span, ok ? undefined : "store call failed");
      this.deps.events.storeCall({ operation, durationMs: this.deps.clock.monotonicMs() - started, ok });
    }
  }
}

export function isStoreDown(value: unknown): value is StoreDown {
  return typeof value === "object" && value !== null && "kind" in value && value.kind === "store_down";
}

export function isOverloaded(value: unknown): value is Overloaded {
  return typeof value === "object" && value !== null && "kind" in value && value.kind === "overloaded";
}
