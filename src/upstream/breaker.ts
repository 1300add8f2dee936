import type { Clock } from "../clock.js";
import type { ProtectionConfig } from "../config/protection.js";
import type { GatewayEvents } from "../telemetry/events.js";

export type CircuitState = "closed" | "half_open" | "open";
/** `neutral`: APIXO answered but said nothing about its health (4xx, 429, an unreadable body). */
export type CallOutcome = "success" | "failure" | "neutral";
export type BreakerSettings = ProtectionConfig["breaker"];

export type Permit =
  /** `round`: the circuit's state change the call started in; its outcome counts only in that same round. */
  | { readonly kind: "go"; readonly probe: boolean; readonly round: number }
  | { readonly kind: "open"; readonly retryAfterMs: number };

interface Circuit {
  state: CircuitState;
  /** The last outcomes while closed, oldest first; true is a failure. */
  window: boolean[];
  openedAtMs: number;
  /** Counts state changes, so a call's outcome can tell whether the circuit moved since the call started. */
  round: number;
  probesStarted: number;
  probesSucceeded: number;
}

/** While half-open with every probe out, others wait this long before trying again. */
const PROBES_BUSY_RETRY_MS = 1_000;

/**
 * One circuit breaker per upstream key alias, per process. Closed: outcomes go into a sliding window; when
 * `failureRatio` of at least `minRequests` outcomes failed it opens. Open: calls fail fast (and count as
 * nothing) for `coolDownMs`. Half-open: `probes` calls go through; all succeeding closes it, one failing
 * opens it again. A call's outcome counts only if the circuit has not changed state since the call started.
 * Settings are read per call, so a reload applies at once.
 */
export class Breakers {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly clock: Clock,
    private readonly events: GatewayEvents,
  ) {}

  /** Publishes `closed` for each alias, so the state metric exists before anything goes wrong. */
  announce(upstreams: readonly string[]): void {
    for (const upstream of upstreams) {
      this.circuit(upstream);
      this.events.upstreamCircuit({ upstream, state: "closed" });
    }
  }

  acquire(upstream: string, settings: BreakerSettings): Permit {
    if (!settings.enabled) return { kind: "go", probe: false, round: -1 };
    const circuit = this.circuit(upstream);
    const now = this.clock.monotonicMs();
    if (circuit.state === "open") {
      const reopenAtMs = circuit.openedAtMs + settings.coolDownMs;
      if (now < reopenAtMs) return { kind: "open", retryAfterMs: reopenAtMs - now };
      circuit.probesStarted = 0;
      circuit.probesSucceeded = 0;
      this.move(upstream, circuit, "half_open");
    }
    if (circuit.state === "half_open") {
      if (circuit.probesStarted >= settings.probes)
        return { kind: "open", retryAfterMs: PROBES_BUSY_RETRY_MS };
      circuit.probesStarted += 1;
      return { kind: "go", probe: true, round: circuit.round };
    }
    return { kind: "go", probe: false, round: circuit.round };
  }

  /** Every `go` permit ends here exactly once. */
  record(upstream: string, settings: BreakerSettings, permit: Permit, outcome: CallOutcome): void {
    if (!settings.enabled || permit.kind !== "go") return;
    const circuit = this.circuit(upstream);
    // Late news: a call that started before the circuit last moved (a closed-state call ending after it opened,
    // a probe of an earlier half-open round ending in a later one) says nothing about the circuit now. Checking
    // the state alone let a stale probe's success count towards closing a later round.
    if (permit.round !== circuit.round) return;
    if (permit.probe) {
      if (outcome === "failure") this.open(upstream, circuit);
      else if (outcome === "neutral") circuit.probesStarted = Math.max(0, circuit.probesStarted - 1);
      else if ((circuit.probesSucceeded += 1) >= settings.probes) {
        circuit.window = [];
        this.move(upstream, circuit, "closed");
      }
      return;
    }
    if (outcome === "neutral") return;
    circuit.window.push(outcome === "failure");
    if (circuit.window.length > settings.windowSize) circuit.window.shift();
    const failures = circuit.window.filter(Boolean).length;
    if (
      circuit.window.length >= settings.minRequests &&
      failures >= settings.failureRatio * circuit.window.length
    ) {
      this.open(upstream, circuit);
    }
  }

  private open(upstream: string, circuit: Circuit): void {
    circuit.openedAtMs = this.clock.monotonicMs();
    circuit.window = [];
    this.move(upstream, circuit, "open");
  }

  private move(upstream: string, circuit: Circuit, state: CircuitState): void {
    if (circuit.state === state) return;
    circuit.state = state;
    circuit.round += 1;
    this.events.upstreamCircuit({ upstream, state });
  }

  private circuit(upstream: string): Circuit {
    let circuit = this.circuits.get(upstream);
    if (circuit === undefined) {
      circuit = {
        state: "closed",
        window: [],
        openedAtMs: 0,
        round: 0,
        probesStarted: 0,
        probesSucceeded: 0,
      };
      this.circuits.set(upstream, circuit);
    }
    return circuit;
  }
}
