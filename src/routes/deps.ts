import type { CallbackService } from "../callbacks/service.js";
import type { Clock } from "../clock.js";
import type { Contexts } from "../http/context.js";
import type { Governor } from "../limits/governor.js";
import type { LedgerWriter } from "../ledger/writer.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import type { BalanceCache } from "../upstream/balanceCache.js";
import type { Forwarder } from "../upstream/transport.js";
import type { UpstreamProtection } from "../upstream/protection.js";

/** What the proxied routes need; built once by the composition root. */
export interface ProxyDeps {
  readonly contexts: Contexts;
  readonly governor: Governor;
  /** Every ledger write (record, release, unknown, settle), with the journal behind it. */
  readonly ledger: LedgerWriter;
  readonly forwarder: Forwarder;
  readonly balances: BalanceCache;
  /** Circuit breakers, poll coalescing and early-poll pacing (per process). */
  readonly protection: UpstreamProtection;
  /** Callback mode: the tenant URL check and swap on submit, and APIXO's calls back (src/callbacks). */
  readonly callbacks: CallbackService;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  readonly logger: Logger;
}
