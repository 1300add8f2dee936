import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import type { ProtectionConfig } from "../../src/config/protection.js";
import type { LedgerState, StoredAnswer, TaskRecord } from "../../src/limits/store.js";
import { earlyPollWaitMs, LastKnownAnswers } from "../../src/upstream/pacing.js";

const answer = (text: string): StoredAnswer => ({
  status: 200,
  contentType: "application/json",
  body: Buffer.from(text),
});

const PACING: ProtectionConfig["earlyPollPacing"] = {
  enabled: true,
  minAgeMs: { image: 5_000, video: 60_000, audio: 30_000 },
};
const SUBMITTED_AT = Date.UTC(2026, 11, 1, 12);

function task(model: string, state: LedgerState = "pending"): TaskRecord {
  return {
    taskId: "t1",
    tenantId: "acme",
    model,
    costMicros: 1,
    day: "2026-12-01",
    submittedAtMs: SUBMITTED_AT,
    reservationId: "r1",
    upstream: "main",
    state,
    refundedMicros: 0,
  };
}

describe("last known answers (early-poll pacing)", () => {
  it("keeps an answer exactly for its TTL on the injected clock", () => {
    const clock = new ManualClock();
    const known = new LastKnownAnswers(clock);
    known.remember("t1", answer("pending"), 5_000);
    clock.advance(4_999);
    expect(known.get("t1")?.body.toString()).toBe("pending");
    clock.advance(1);
    expect(known.get("t1")).toBeUndefined();
  });

  it("keeps nothing for a TTL of zero or less, and the newest answer wins", () => {
    const clock = new ManualClock();
    const known = new LastKnownAnswers(clock);
    known.remember("t1", answer("a"), 0);
    known.remember("t2", answer("b"), -1);
    expect(known.get("t1")).toBeUndefined();
    expect(known.get("t2")).toBeUndefined();
    known.remember("t3", answer("pending"), 5_000);
    known.remember("t3", answer("processing"), 1_000);
    expect(known.get("t3")?.body.toString()).toBe("processing");
    clock.advance(1_000);
    expect(known.get("t3")).toBeUndefined();
  });

  it("stays bounded: past 20,000 entries the oldest remembered goes first", () => {
    const clock = new ManualClock();
    const known = new LastKnownAnswers(clock);
    for (let i = 0; i < 20_000; i++) known.remember(`t${i}`, answer(String(i)), 60_000);
    // Remembered again: t0 is now the newest, so t1 is the oldest.
    known.remember("t0", answer("again"), 60_000);
    known.remember("t20000", answer("20000"), 60_000);
    expect(known.get("t1")).toBeUndefined();
    expect(known.get("t0")?.body.toString()).toBe("again");
    expect(known.get("t2")?.body.toString()).toBe("2");
    expect(known.get("t20000")?.body.toString()).toBe("20000");
    known.remember("t20001", answer("20001"), 60_000);
    expect(known.get("t2")).toBeUndefined();
  });
});

describe("how long an early poll waits", () => {
  it("waits out the model kind's minimum age, counted from the ledger's submission time", () => {
    expect(earlyPollWaitMs(PACING, task("nano-banana"), SUBMITTED_AT + 1_000)).toBe(4_000);
    expect(earlyPollWaitMs(PACING, task("sora-2"), SUBMITTED_AT + 1_000)).toBe(59_000);
    expect(earlyPollWaitMs(PACING, task("suno"), SUBMITTED_AT + 1_000)).toBe(29_000);
    // An alias is the model it names.
    expect(earlyPollWaitMs(PACING, task("flux-2"), SUBMITTED_AT)).toBe(5_000);
  });

  it("is 0 once the minimum age has passed, never negative", () => {
    expect(earlyPollWaitMs(PACING, task("nano-banana"), SUBMITTED_AT + 5_000)).toBe(0);
    expect(earlyPollWaitMs(PACING, task("nano-banana"), SUBMITTED_AT + 60_000)).toBe(0);
  });

  it("paces only pending tasks of models the gateway knows", () => {
    for (const state of ["success", "failed", "expired"] as const) {
      expect(earlyPollWaitMs(PACING, task("nano-banana", state), SUBMITTED_AT)).toBe(0);
    }
    expect(earlyPollWaitMs(PACING, task("some-new-model"), SUBMITTED_AT)).toBe(0);
  });

  it("is 0 when pacing is off", () => {
    expect(earlyPollWaitMs({ ...PACING, enabled: false }, task("sora-2"), SUBMITTED_AT)).toBe(0);
  });
});
