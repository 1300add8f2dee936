import type { Clock } from "../clock.js";
import type { GatewayEvents } from "../telemetry/events.js";
import { Breakers } from "./breaker.js";
import { Coalescer } from "./coalesce.js";
import type { UpstreamAnswer } from "./transport.js";
import { LastKnownAnswers } from "./pacing.js";

/** The per-process parts of upstream protection; the shared parts (account budgets, cache) live in the store. */
export interface UpstreamProtection {
  readonly breakers: Breakers;
  readonly polls: Coalescer<UpstreamAnswer>;
  readonly lastKnown: LastKnownAnswers;
}

export function createUpstreamProtection(clock: Clock, events: GatewayEvents): UpstreamProtection {
  return {
    breakers: new Breakers(clock, events),
    polls: new Coalescer<UpstreamAnswer>(),
    lastKnown: new LastKnownAnswers(clock),
  };
}
