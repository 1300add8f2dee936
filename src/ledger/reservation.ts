import type { Attribution, DayWindow, NewTask } from "../limits/store.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { LedgerWriter } from "./writer.js";

/** What became of a submit's reservation (CONTRACTS.md section 5): one of these, exactly once. */
export type Fate = "charged" | "released" | "unknown";

export interface ReservationFacts {
  readonly tenantId: string;
  readonly reservationId: string;
  readonly model: string;
  readonly costMicros: number;
  /** The upstream key's alias. */
  readonly upstream: string;
  /** The admission's day window: the reservation's charge day is one of these. */
  readonly days: DayWindow;
  /** The day the store charged the admission to; undefined when the store could not be asked (fail-open). */
  readonly admittedDay: string | undefined;
  readonly idempotencyKey: string | undefined;
  /** X-Gateway-User / X-Gateway-Feature: the reservation's charge is attributed to them. */
  readonly attribution: Attribution;
  /** Where the account's in-flight slot lives, when the account cap is on. */
  readonly accountSlot: { readonly upstream: string } | undefined;
  /**
   * False only when the admission provably never reached the store (nothing there to give back and no late
   * admission to refuse): a release then writes nothing.
   */
  readonly inStore: boolean;
}

/**
 * One submit's reservation and its fate. `charge` when APIXO accepted the task; `release` when the request
 * never left (or APIXO refused it); `unknown` when it may have reached APIXO with no readable answer. The
 * first fate decided wins; later calls are ignored, so every path out of a submit can simply state its fate.
 */
export class SubmitReservation {
  private decided: Fate | undefined;

  constructor(
    private readonly deps: { readonly ledger: LedgerWriter; readonly events: GatewayEvents },
    readonly facts: ReservationFacts,
  ) {}

  get fate(): Fate | undefined {
    return this.decided;
  }

  /** The day a charge of this reservation belongs to. */
  get day(): string {
    return this.facts.admittedDay ?? this.facts.days.today;
  }

  async charge(
    task: Omit<
      NewTask,
      "tenantId" | "model" | "costMicros" | "day" | "reservationId" | "upstream" | "attribution"
    >,
  ) {
    if (!this.decide("charged")) return;
    const { tenantId, model, costMicros, reservationId, upstream, attribution } = this.facts;
    await this.deps.ledger.record({
      kind: "record",
      task: { ...task, tenantId, model, costMicros, day: this.day, reservationId, upstream, attribution },
    });
  }

  async release(): Promise<void> {
    if (!this.decide("released") || !this.facts.inStore) return;
    const { tenantId, reservationId, days, idempotencyKey, accountSlot } = this.facts;
    await this.deps.ledger.release({
      kind: "release",
      release: {
        tenantId,
        reservationId,
        days: [days.yesterday, days.today, days.tomorrow],
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(accountSlot === undefined ? {} : { account: accountSlot }),
      },
    });
  }

  async unknown(reason: string): Promise<void> {
    if (!this.decide("unknown")) return;
    const { tenantId, reservationId, model, costMicros, upstream, attribution } = this.facts;
    await this.deps.ledger.unknown({
      kind: "unknown",
      outcome: {
        tenantId,
        reservationId,
        reason,
        charge: { day: this.day, model, costMicros, upstream, attribution },
      },
    });
  }

  private decide(fate: Fate): boolean {
    if (this.decided !== undefined) return false;
    this.decided = fate;
    this.deps.events.reservationFate({ tenant: this.facts.tenantId, fate });
    return true;
  }
}
