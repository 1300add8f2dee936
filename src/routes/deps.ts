import type { CallbackService } from "../callbacks/service.js";
import type { Clock } from "../clock.js";
import type { Governor } from "../limits/governor.js";
import type { LedgerWriter } from "../ledger/writer.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Tracer } from "../telemetry/tracer.js";
import type { BalanceCache } from "../upstream/balanceCache.js";
import type { UpstreamClient } from "../upstream/client.js";
import type { LastKnownAnswers } from "../upstream/pacing.js";

/** What the governed routes need; built once by the composition root. */
export interface RouteDeps {
  readonly governor: Governor;
  /** Every ledger write (record, release, unknown, settle), with the journal behind it. */
  readonly ledger: LedgerWriter;
  /** Every call to APIXO, with the breaker, retries and coalescing around it. */
  readonly upstream: UpstreamClient;
  readonly balances: BalanceCache;
  /** Early-poll pacing's last known answers (per process). */
  readonly lastKnown: LastKnownAnswers;
  /** Callback mode: the tenant URL check and swap on submit (src/callbacks). */
  readonly callbacks: CallbackService;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  /** A submit keeps its span's traceparent on the ledger record; a poll's span links to it. */
  readonly tracer: Tracer;
}
