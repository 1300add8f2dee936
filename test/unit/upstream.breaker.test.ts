import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { Breakers, type BreakerSettings, type CallOutcome, type Permit } from "../../src/upstream/breaker.js";
import { noEvents } from "../../src/telemetry/events.js";

const SETTINGS: BreakerSettings = {
  enabled: true,
  windowSize: 10,
  minRequests: 4,
  failureRatio: 0.5,
  coolDownMs: 10_000,
  probes: 2,
};

function setup(settings: BreakerSettings = SETTINGS) {
  const clock = new ManualClock();
  const states: string[] = [];
  const breakers = new Breakers(clock, {
    ...noEvents,
    upstreamCircuit: (e) => states.push(`${e.upstream}:${e.state}`),
  });
  const acquire = (s: BreakerSettings = settings): Permit => breakers.acquire("main", s);
  /** One whole call: a permit, then its outcome. */
  const call = (outcome: CallOutcome, s: BreakerSettings = settings): Permit => {
    const permit = acquire(s);
    breakers.record("main", s, permit, outcome);
    return permit;
  };
  const open = (): void => {
    for (let i = 0; i < settings.minRequests; i++) call("failure");
    expect(acquire().kind).toBe("open");
  };
  return { clock, breakers, states, acquire, call, open };
}

const GO = { kind: "go", probe: false };
const PROBE = { kind: "go", probe: true };

describe("the circuit breaker, on a manual clock", () => {
  it("publishes closed for every alias at start, and only changes after that", () => {
    const { breakers, states } = setup();
    breakers.announce(["main", "backup"]);
    expect(states).toEqual(["main:closed", "backup:closed"]);
  });

  it("gives no verdict on fewer than minRequests outcomes, however many failed", () => {
    const { call, acquire, states } = setup();
    for (let i = 0; i < SETTINGS.minRequests - 1; i++) call("failure");
    expect(acquire()).toMatchObject(GO);
    expect(states).toEqual([]);
  });

  it("opens when failureRatio of at least minRequests outcomes in the window failed", () => {
    const { call, acquire, states } = setup();
    call("success");
    call("success");
    call("failure");
    // 1 of 3, then 2 of 4: exactly the ratio, which opens it.
    expect(acquire()).toMatchObject(GO);
    call("failure");
    expect(acquire()).toEqual({ kind: "open", retryAfterMs: SETTINGS.coolDownMs });
    expect(states).toEqual(["main:open"]);
  });

  it("judges only the last windowSize outcomes: old successes slide out", () => {
    const { call, acquire } = setup({ ...SETTINGS, windowSize: 4 });
    for (let i = 0; i < 5; i++) call("success");
    call("failure");
    expect(acquire().kind).toBe("go");
    // The window is now [success, success, failure, failure]: 2 of 4. Counted over all 7 calls it would
    // be 2 of 7 and stay closed.
    call("failure");
    expect(acquire().kind).toBe("open");
  });

  it("fails fast while open with the time left of the cool-down, and fail-fasts count as nothing", () => {
    const { clock, breakers, acquire, open, states } = setup();
    open();
    clock.advance(4_000);
    const refused = acquire();
    expect(refused).toEqual({ kind: "open", retryAfterMs: 6_000 });
    // A refused call's outcome (the route records nothing for it, but if it did) does not extend the open.
    breakers.record("main", SETTINGS, refused, "failure");
    clock.advance(5_999);
    expect(acquire()).toEqual({ kind: "open", retryAfterMs: 1 });
    expect(states).toEqual(["main:open"]);
  });

  it("half-opens after coolDownMs and lets exactly `probes` calls through", () => {
    const { clock, acquire, open, states } = setup();
    open();
    clock.advance(SETTINGS.coolDownMs);
    expect(acquire()).toMatchObject(PROBE);
    expect(acquire()).toMatchObject(PROBE);
    // Every probe is out: the others wait a moment rather than pile onto a recovering APIXO.
    expect(acquire()).toEqual({ kind: "open", retryAfterMs: 1_000 });
    expect(states).toEqual(["main:open", "main:half_open"]);
  });

  it("closes after `probes` successful probes, with an empty window", () => {
    const { clock, breakers, acquire, call, open, states } = setup();
    open();
    clock.advance(SETTINGS.coolDownMs);
    const probes = [acquire(), acquire()];
    breakers.record("main", SETTINGS, probes[0]!, "success");
    expect(acquire().kind).toBe("open");
    breakers.record("main", SETTINGS, probes[1]!, "success");
    expect(acquire()).toMatchObject(GO);
    expect(states).toEqual(["main:open", "main:half_open", "main:closed"]);
    // The failures that opened it are forgotten: it takes a fresh verdict to open again.
    for (let i = 0; i < SETTINGS.minRequests - 1; i++) call("failure");
    expect(acquire().kind).toBe("go");
  });

  it("re-opens on a failed probe, for a whole new cool-down", () => {
    const { clock, breakers, acquire, open, states } = setup();
    open();
    clock.advance(SETTINGS.coolDownMs);
    const probe = acquire();
    clock.advance(3_000);
    breakers.record("main", SETTINGS, probe, "failure");
    expect(acquire()).toEqual({ kind: "open", retryAfterMs: SETTINGS.coolDownMs });
    expect(states).toEqual(["main:open", "main:half_open", "main:open"]);
  });

  it("ignores neutral outcomes (4xx, 429, unreadable answers) while closed", () => {
    const { call, acquire } = setup();
    call("failure");
    call("failure");
    for (let i = 0; i < 20; i++) call("neutral");
    // Only the two failures are in the window: still short of minRequests.
    expect(acquire().kind).toBe("go");
    call("failure");
    call("failure");
    expect(acquire().kind).toBe("open");
  });

  it("gives a neutral probe's place to another probe, and does not count it as a success", () => {
    const { clock, breakers, acquire, open } = setup();
    open();
    clock.advance(SETTINGS.coolDownMs);
    const [first, second] = [acquire(), acquire()];
    breakers.record("main", SETTINGS, first, "neutral");
    const third = acquire();
    expect(third).toMatchObject(PROBE);
    breakers.record("main", SETTINGS, second, "success");
    expect(acquire().kind).toBe("open");
    breakers.record("main", SETTINGS, third, "success");
    expect(acquire()).toMatchObject(GO);
  });

  it("ignores late news: a call that started while closed and ends after the circuit opened", () => {
    const { clock, breakers, acquire, open } = setup();
    const slow = acquire();
    open();
    clock.advance(4_000);
    breakers.record("main", SETTINGS, slow, "failure");
    breakers.record("main", SETTINGS, slow, "success");
    // The cool-down runs from the open, not from the late answer.
    expect(acquire()).toEqual({ kind: "open", retryAfterMs: 6_000 });
  });

  it("ignores late news: a closed-state call that ends after the circuit opened and closed again", () => {
    const { clock, breakers, acquire, call, open } = setup();
    const slow = acquire();
    open();
    clock.advance(SETTINGS.coolDownMs);
    call("success");
    call("success");
    expect(acquire()).toMatchObject(GO);
    call("failure");
    call("failure");
    call("failure");
    // Three fresh failures: one short of a verdict. The slow call's failure is about an earlier APIXO.
    breakers.record("main", SETTINGS, slow, "failure");
    expect(acquire().kind).toBe("go");
  });

  it("ignores late news: a probe of an earlier half-open round does not count in the next one", () => {
    const { clock, breakers, acquire, open, states } = setup();
    open();
    clock.advance(SETTINGS.coolDownMs);
    const [stale, failing] = [acquire(), acquire()];
    breakers.record("main", SETTINGS, failing, "failure");
    clock.advance(SETTINGS.coolDownMs);
    const fresh = acquire();
    expect(fresh).toMatchObject(PROBE);
    // The stale probe succeeds now: it says nothing about this round, so one fresh success cannot close it.
    breakers.record("main", SETTINGS, stale, "success");
    breakers.record("main", SETTINGS, fresh, "success");
    expect(states.at(-1)).toBe("main:half_open");
    expect(acquire()).toMatchObject(PROBE);
  });

  it("reads its settings on every call: disabled always lets calls go, and a new cool-down applies at once", () => {
    const { clock, breakers, acquire, open } = setup();
    open();
    const off = { ...SETTINGS, enabled: false };
    for (let i = 0; i < 5; i++) {
      const permit = acquire(off);
      expect(permit).toMatchObject(GO);
      breakers.record("main", off, permit, "failure");
    }
    // Enabled again: the open circuit is as it was, and a shorter cool-down counts from when it opened.
    clock.advance(2_000);
    expect(acquire()).toEqual({ kind: "open", retryAfterMs: 8_000 });
    expect(acquire({ ...SETTINGS, coolDownMs: 2_000 })).toMatchObject(PROBE);
  });

  it("keeps one circuit per upstream alias", () => {
    const { breakers, open } = setup();
    open();
    expect(breakers.acquire("backup", SETTINGS)).toMatchObject(GO);
  });
});
