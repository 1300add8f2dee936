import { expect, it } from "vitest";
import type { StoredAnswer } from "../../src/limits/store.js";
import { windowAround, type ContractContext } from "./store.contract.js";

/** Ledger, settlement, expiry, idempotency and reporting cases of the store contract. */
export function registerLedgerCases(ctx: () => ContractContext): void {
  it("shows a recorded task only to the tenant that owns it", async () => {
    const { store, submitTask } = ctx();
    const { taskId, decision } = await submitTask({ costMicros: 700 });
    const mine = await store.admitStatus({ tenantId: "acme", buckets: [], taskId });
    expect(mine).toMatchObject({
      kind: "admitted",
      task: {
        taskId,
        tenantId: "acme",
        model: "flux2",
        costMicros: 700,
        day: decision.day,
        state: "pending",
      },
    });
    expect(await store.admitStatus({ tenantId: "globex", buckets: [], taskId })).toMatchObject({
      task: null,
    });
    expect(await store.admitStatus({ tenantId: "acme", buckets: [], taskId: "nope" })).toMatchObject({
      task: null,
    });
    expect(await store.getTask("globex", taskId)).toBeNull();
    expect((await store.getTask("acme", taskId))?.upstream).toBe("main");
  });

  it("keeps the submit's traceparent on the task record, and none when none was given", async () => {
    const { store, submitTask } = ctx();
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const traced = await submitTask({}, "task-traced", traceparent);
    expect((await store.getTask("acme", traced.taskId))?.traceparent).toBe(traceparent);
    const { taskId } = await submitTask();
    expect(await store.getTask("acme", taskId)).not.toHaveProperty("traceparent");
  });

  it("refunds a failed task exactly once under 20 concurrent settles", async () => {
    const { store, submitTask, days, spendToday } = ctx();
    const { taskId } = await submitTask({ costMicros: 900 });
    const settle = {
      tenantId: "acme",
      taskId,
      state: "failed",
      failCode: "CONTENT_POLICY",
      refund: true,
    } as const;
    const results = await Promise.all(Array.from({ length: 20 }, () => store.settleTask(settle)));
    expect(results.filter((r) => r.settled)).toHaveLength(1);
    expect(results.filter((r) => r.slotReleased)).toHaveLength(1);
    expect(results.reduce((sum, r) => sum + r.refundedMicros, 0)).toBe(900);
    expect(await spendToday()).toBe(0);
    expect(await store.snapshot("acme", days.today)).toMatchObject({ inFlight: 0 });
    expect(await store.spendOfDays("acme", [days.today])).toEqual([
      { day: days.today, spentMicros: 0, refundedMicros: 900, byModel: {} },
    ]);
    const task = await store.getTask("acme", taskId);
    expect(task).toMatchObject({ state: "failed", refundedMicros: 900, failCode: "CONTENT_POLICY" });
  });

  it("settles in one round trip with the caller's charge day, and refuses a day that is not the record's", async () => {
    const { store, submitTask, days, spendToday } = ctx();
    const { taskId: wrong } = await submitTask({ costMicros: 900 });
    await expect(
      store.settleTask({ tenantId: "acme", taskId: wrong, state: "failed", refund: true, day: "1999-01-01" }),
    ).rejects.toThrow();
    const { taskId } = await submitTask({ costMicros: 900 });
    const settle = { tenantId: "acme", taskId, state: "failed" as const, refund: true, day: days.today };
    const results = await Promise.all(Array.from({ length: 10 }, () => store.settleTask(settle)));
    expect(results.filter((r) => r.settled)).toHaveLength(1);
    expect(results.reduce((sum, r) => sum + r.refundedMicros, 0)).toBe(900);
    // Only the refused task's charge remains.
    expect(await spendToday()).toBe(900);
  });

  it("keeps the charge of a successful task and settles it once", async () => {
    const { store, submitTask, spendToday } = ctx();
    const { taskId } = await submitTask({ costMicros: 400 });
    const first = await store.settleTask({ tenantId: "acme", taskId, state: "success", refund: true });
    expect(first).toMatchObject({
      settled: true,
      refundedMicros: 0,
      slotReleased: true,
      task: { state: "success" },
    });
    const late = await store.settleTask({ tenantId: "acme", taskId, state: "failed", refund: true });
    expect(late).toMatchObject({
      settled: false,
      refundedMicros: 0,
      slotReleased: false,
      task: { state: "success" },
    });
    expect(await spendToday()).toBe(400);
    const stranger = await store.settleTask({ tenantId: "globex", taskId, state: "failed", refund: true });
    expect(stranger).toEqual({ settled: false, refundedMicros: 0, slotReleased: false, task: null });
  });

  it("keeps a failed task's charge when the refund policy is off", async () => {
    const { store, submitTask, spendToday } = ctx();
    const { taskId } = await submitTask({ costMicros: 400 });
    const result = await store.settleTask({ tenantId: "acme", taskId, state: "failed", refund: false });
    expect(result).toMatchObject({ settled: true, refundedMicros: 0, slotReleased: true });
    expect(await spendToday()).toBe(400);
  });

  it("refunds to the day the task was charged even after today moved on", async () => {
    const { store, submitTask, now } = ctx();
    const dayOne = windowAround(await now(), "2026-11-22");
    const dayTwo = windowAround(await now(), "2026-11-23");
    const { taskId } = await submitTask({ days: dayOne, costMicros: 300 });
    await submitTask({ days: dayTwo, costMicros: 200 });
    await store.settleTask({ tenantId: "acme", taskId, state: "failed", refund: true });
    expect(await store.spendOfDays("acme", ["2026-11-22", "2026-11-23"])).toEqual([
      { day: "2026-11-22", spentMicros: 0, refundedMicros: 300, byModel: {} },
      { day: "2026-11-23", spentMicros: 200, refundedMicros: 0, byModel: { flux2: 200 } },
    ]);
  });

  it("charges the day the store's own clock falls in", async () => {
    const { submit, store, now } = ctx();
    const t = await now();
    const early = windowAround(t, "2026-11-22", 7 * 3_600_000); // today has not begun for the store
    const late = windowAround(t, "2026-11-22", -7 * 3_600_000); // today is already over for the store
    expect(await store.admitSubmit(submit({ days: early }))).toMatchObject({ day: "2026-11-21" });
    expect(await store.admitSubmit(submit({ days: late }))).toMatchObject({ day: "2026-11-23" });
  });

  it("expires tasks past the max age: slot released, charge kept, reported once", async () => {
    const { store, submitTask, days, spendToday, sut } = ctx();
    const { taskId } = await submitTask({ costMicros: 600 });
    if (sut.advanceMs !== undefined) {
      sut.advanceMs(59_999);
      expect(await store.sweepExpired("acme", 60_000)).toEqual([]);
      sut.advanceMs(1);
    }
    expect(await store.sweepExpired("acme", sut.advanceMs === undefined ? 0 : 60_000)).toEqual([
      { taskId, model: "flux2" },
    ]);
    expect(await store.sweepExpired("acme", 0)).toEqual([]);
    expect(await store.snapshot("acme", days.today)).toEqual({
      tenantId: "acme",
      spentMicros: 600,
      monthSpentMicros: 600,
      userSpentMicros: 0,
      inFlight: 0,
      unknownOutcomes: 0,
    });
    expect(await store.getTask("acme", taskId)).toMatchObject({ state: "expired" });
    expect(await spendToday()).toBe(600);
  });

  it("expires stale tasks on admission and reports them with the admission", async () => {
    const { store, submitTask, submit } = ctx();
    const { taskId } = await submitTask({ model: "kling" });
    const decision = await store.admitSubmit(submit({ taskMaxAgeMs: 0, maxInFlight: 1 }));
    expect(decision).toMatchObject({ kind: "admitted", expired: [{ taskId, model: "kling" }] });
  });

  it("refunds an expired task that later fails, once, without releasing its slot twice", async () => {
    const { store, submitTask, days, spendToday } = ctx();
    const { taskId } = await submitTask({ costMicros: 800 });
    await submitTask({ costMicros: 100 });
    await store.sweepExpired("acme", 0);
    const settle = { tenantId: "acme", taskId, state: "failed", refund: true } as const;
    const results = await Promise.all(Array.from({ length: 5 }, () => store.settleTask(settle)));
    expect(results.filter((r) => r.settled)).toHaveLength(1);
    expect(results.filter((r) => r.slotReleased)).toHaveLength(0);
    expect(results.reduce((sum, r) => sum + r.refundedMicros, 0)).toBe(800);
    expect(await spendToday()).toBe(100);
    expect(await store.snapshot("acme", days.today)).toMatchObject({ inFlight: 0 });
  });

  it("holds an Idempotency-Key while the first request runs, then replays its exact answer", async () => {
    const { store, submit, spendToday } = ctx();
    const idempotency = { key: "k-1", ttlSec: 86_400 };
    const requests = Array.from({ length: 10 }, () => submit({ idempotency }));
    const decisions = await Promise.all(requests.map((r) => store.admitSubmit(r)));
    expect(decisions.filter((d) => d.kind === "admitted")).toHaveLength(1);
    expect(decisions.filter((d) => d.kind === "in_progress")).toHaveLength(9);
    const winner = requests[decisions.findIndex((d) => d.kind === "admitted")]!;
    const body = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x22, 0x7d]);
    const answer: StoredAnswer = { status: 200, contentType: "application/json; charset=utf-8", body };
    await store.recordTask({
      tenantId: "acme",
      taskId: "t-idem",
      model: "flux2",
      costMicros: 1000,
      day: "2026-11-22",
      reservationId: winner.reservationId,
      upstream: "main",
      ttlSec: 3600,
      attribution: {},
      idempotency: { ...idempotency, answer },
    });
    const replay = await store.admitSubmit(submit({ idempotency }));
    expect(replay.kind).toBe("replay");
    if (replay.kind === "replay") {
      expect(replay.answer.status).toBe(200);
      expect(replay.answer.contentType).toBe(answer.contentType);
      expect(Buffer.compare(replay.answer.body, body)).toBe(0);
    }
    expect(await spendToday()).toBe(1000);
    expect((await store.admitSubmit(submit({ tenantId: "globex", idempotency }))).kind).toBe("admitted");
  });

  it("takes one bucket token for a replay, and nothing else: no cost, no slot; an empty bucket refuses it", async () => {
    const { store, submit, spendToday, days } = ctx();
    const bucket = { name: "submit", ratePerSec: 0.001, burst: 2 };
    const idempotency = { key: "k-replay", ttlSec: 60 };
    const request = submit({ buckets: [bucket], idempotency });
    const decision = await store.admitSubmit(request);
    if (decision.kind !== "admitted") throw new Error(decision.kind);
    await store.recordTask({
      tenantId: "acme",
      taskId: "t-replay",
      model: request.model,
      costMicros: request.costMicros,
      day: decision.day,
      reservationId: request.reservationId,
      upstream: "main",
      ttlSec: 60,
      attribution: {},
      idempotency: {
        ...idempotency,
        answer: { status: 200, contentType: "application/json", body: Buffer.from("{}") },
      },
    });
    const replay = await store.admitSubmit(submit({ buckets: [bucket], idempotency }));
    expect(replay).toMatchObject({ kind: "replay", rate: { limit: 2, remaining: 0 }, spentMicros: 1000 });
    expect(await spendToday()).toBe(1000);
    expect((await store.snapshot("acme", days.today)).inFlight).toBe(1);
    expect(await store.admitSubmit(submit({ buckets: [bucket], idempotency }))).toMatchObject({
      kind: "rate_limited",
      bucket: "submit",
    });
  });

  it("frees an Idempotency-Key when the reservation is released, or when its holder outlived the max age", async () => {
    const { store, submit } = ctx();
    const idempotency = { key: "k-2", ttlSec: 86_400 };
    const first = submit({ idempotency });
    const decision = await store.admitSubmit(first);
    expect(decision.kind).toBe("admitted");
    const day = decision.kind === "admitted" ? decision.day : "";
    await store.releaseReservation({
      tenantId: first.tenantId,
      reservationId: first.reservationId,
      days: [day],
      idempotencyKey: "k-2",
    });
    expect((await store.admitSubmit(submit({ idempotency }))).kind).toBe("admitted");
    expect((await store.admitSubmit(submit({ idempotency }))).kind).toBe("in_progress");
    expect((await store.admitSubmit(submit({ idempotency, taskMaxAgeMs: 0 }))).kind).toBe("admitted");
  });

  it("reports spend per day and model, net of refunds, and a snapshot of today", async () => {
    const { store, submitTask, days } = ctx();
    await submitTask({ model: "flux2", costMicros: 1500 });
    const { taskId } = await submitTask({ model: "kling", costMicros: 2500 });
    await submitTask({ model: "kling", costMicros: 2500 });
    await store.settleTask({ tenantId: "acme", taskId, state: "failed", refund: true });
    expect(await store.spendOfDays("acme", [days.today, days.yesterday])).toEqual([
      { day: days.today, spentMicros: 4000, refundedMicros: 2500, byModel: { flux2: 1500, kling: 2500 } },
      { day: days.yesterday, spentMicros: 0, refundedMicros: 0, byModel: {} },
    ]);
    expect(await store.snapshot("acme", days.today)).toEqual({
      tenantId: "acme",
      spentMicros: 4000,
      monthSpentMicros: 4000,
      userSpentMicros: 0,
      inFlight: 2,
      unknownOutcomes: 0,
    });
    expect(await store.snapshot("globex", days.today)).toEqual({
      tenantId: "globex",
      spentMicros: 0,
      monthSpentMicros: 0,
      userSpentMicros: 0,
      inFlight: 0,
      unknownOutcomes: 0,
    });
  });

  it("records a task once even when recordTask is repeated", async () => {
    const { store, submitTask } = ctx();
    const { taskId, request, decision } = await submitTask();
    const again = {
      tenantId: "acme",
      taskId,
      model: "other",
      costMicros: 1,
      day: decision.day,
      reservationId: request.reservationId,
      upstream: "b",
      ttlSec: 60,
      attribution: {},
    };
    await store.recordTask(again);
    expect(await store.getTask("acme", taskId)).toMatchObject({
      model: "flux2",
      costMicros: 1000,
      upstream: "main",
    });
    await store.ping();
  });
}
