import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { checkLedger } from "../../src/ledger/check.js";
import type { NewTask, SubmitRequest } from "../../src/limits/store.js";
import type { ContractContext } from "./store.contract.js";

/**
 * Reservation fates of the store contract: every write is idempotent and wins over an admission of the same
 * reservation id that the store runs late (after the gateway gave up waiting for it).
 */
export function registerFateCases(ctx: () => ContractContext): void {
  const taskOf = (request: SubmitRequest, day: string, taskId = `task-${randomUUID()}`): NewTask => ({
    tenantId: request.tenantId,
    taskId,
    model: request.model,
    costMicros: request.costMicros,
    day,
    reservationId: request.reservationId,
    upstream: "main",
    ttlSec: 3600,
    attribution: {},
  });
  /** Lets the store's clock move past "now" (Redis TIME has millisecond steps). */
  const later = async (ms: number) => {
    const { sut } = ctx();
    if (sut.advanceMs !== undefined) sut.advanceMs(ms);
    else await new Promise((resolve) => setTimeout(resolve, ms));
  };

  it("makes an admission that runs after its release take nothing: no spend, no slot, no hold", async () => {
    const { store, submit, days, spendToday } = ctx();
    const request = submit({ idempotency: { key: "late-1", ttlSec: 60 } });
    const release = { tenantId: "acme", reservationId: request.reservationId, days: [days.today] };
    expect(await store.releaseReservation(release)).toEqual({ released: false, reservation: null });
    expect(await store.admitSubmit(request)).toEqual({ kind: "void" });
    expect(await spendToday()).toBe(0);
    expect((await store.snapshot("acme", days.today)).inFlight).toBe(0);
    // The key was never held, so a fresh request with it goes through.
    expect((await store.admitSubmit(submit({ idempotency: { key: "late-1", ttlSec: 60 } }))).kind).toBe(
      "admitted",
    );
    expect(await store.reservations("acme")).toHaveLength(1);
  });

  it("charges a task recorded without a reservation (fail-open) once, and voids its late admission", async () => {
    const { store, submit, days, spendToday } = ctx();
    const request = submit({ costMicros: 700 });
    const task = taskOf(request, days.today);
    expect(await store.recordTask(task)).toEqual({ recorded: true });
    expect(await store.recordTask(task)).toEqual({ recorded: false });
    expect(await spendToday()).toBe(700);
    expect(await store.getTask("acme", task.taskId)).toMatchObject({ state: "pending", costMicros: 700 });
    expect(await store.admitSubmit(request)).toEqual({ kind: "void" });
    expect(await spendToday()).toBe(700);
    expect((await store.snapshot("acme", days.today)).inFlight).toBe(1);
    expect(await store.reservations("acme")).toEqual([]);
  });

  it("records a batch of tasks across accounts once each, and tells which were new, in the order given", async () => {
    const { store, submit, days, spendToday } = ctx();
    // acme and initech are in different upstream accounts: on a cluster, two slots and two script calls.
    const acme = submit({ costMicros: 300 });
    const initech = submit({ tenantId: "initech", costMicros: 500 });
    expect((await store.admitSubmit(acme)).kind).toBe("admitted");
    expect((await store.admitSubmit(initech)).kind).toBe("admitted");
    const recordedBefore = taskOf(submit({ costMicros: 50 }), days.today);
    await store.recordTask(recordedBefore);
    const failOpen = taskOf(submit({ costMicros: 700 }), days.today);
    const batch = [taskOf(acme, days.today), taskOf(initech, days.today), recordedBefore, failOpen];
    expect(await store.recordTasks(batch)).toEqual([
      { recorded: true },
      { recorded: true },
      { recorded: false },
      { recorded: true },
    ]);
    // Again, as a journal replays a batch that was applied before the answer was lost: nothing twice.
    expect((await store.recordTasks(batch)).map((r) => r.recorded)).toEqual([false, false, false, false]);
    expect(await spendToday()).toBe(300 + 50 + 700);
    expect(await spendToday("initech")).toBe(500);
    expect((await store.snapshot("acme", days.today)).inFlight).toBe(3);
    expect(await store.getTask("initech", initech.reservationId)).toBeNull();
    expect(await store.getTask("initech", batch[1]?.taskId ?? "")).toMatchObject({
      state: "pending",
      costMicros: 500,
    });
    expect(await store.reservations("acme")).toEqual([]);
    expect(await store.reservations("initech")).toEqual([]);
  });

  it("turns an admission that ran before its record into the task's charge, not a second one", async () => {
    const { store, submit, days, spendToday } = ctx();
    const request = submit({ costMicros: 900 });
    const decision = await store.admitSubmit(request);
    expect(decision.kind).toBe("admitted");
    await store.recordTask(taskOf(request, days.today));
    expect(await spendToday()).toBe(900);
    expect((await store.snapshot("acme", days.today)).inFlight).toBe(1);
    expect(await store.reservations("acme")).toEqual([]);
  });

  it("keeps an unknown outcome charged and listed until an operator releases it by id", async () => {
    const { store, submit, days, spendToday } = ctx();
    const request = submit({ costMicros: 400 });
    await store.admitSubmit(request);
    const charge = {
      day: days.today,
      model: request.model,
      costMicros: 400,
      upstream: "main",
      attribution: {},
    };
    await store.markUnknown({
      tenantId: "acme",
      reservationId: request.reservationId,
      reason: "timeout",
      charge,
    });
    await store.markUnknown({
      tenantId: "acme",
      reservationId: request.reservationId,
      reason: "timeout",
      charge,
    });
    expect(await spendToday()).toBe(400);
    expect(await store.reservations("acme")).toMatchObject([
      {
        reservationId: request.reservationId,
        state: "unknown",
        reason: "timeout",
        costMicros: 400,
        upstream: "main",
      },
    ]);
    expect((await store.snapshot("acme", days.today)).unknownOutcomes).toBe(1);
    const released = await store.releaseReservation({
      tenantId: "acme",
      reservationId: request.reservationId,
      days: [days.today],
    });
    expect(released).toMatchObject({ released: true, reservation: { state: "unknown" } });
    expect(await spendToday()).toBe(0);
    expect((await store.snapshot("acme", days.today)).unknownOutcomes).toBe(0);
  });

  it("charges an unknown outcome whose admission never ran, and voids the admission afterwards", async () => {
    const { store, submit, days, spendToday } = ctx();
    const request = submit({ costMicros: 300 });
    const charge = {
      day: days.today,
      model: request.model,
      costMicros: 300,
      upstream: "main",
      attribution: {},
    };
    await store.markUnknown({
      tenantId: "acme",
      reservationId: request.reservationId,
      reason: "reset",
      charge,
    });
    expect(await spendToday()).toBe(300);
    expect(await store.admitSubmit(request)).toEqual({ kind: "void" });
    expect(await spendToday()).toBe(300);
    expect(await store.reservations("acme")).toMatchObject([{ state: "unknown", reason: "reset" }]);
  });

  it("refuses to release to a day the reservation was not charged to", async () => {
    const { store, submit, days } = ctx();
    const request = submit();
    await store.admitSubmit(request);
    await expect(
      store.releaseReservation({
        tenantId: "acme",
        reservationId: request.reservationId,
        days: [days.tomorrow],
      }),
    ).rejects.toThrow(/day/);
  });

  it("marks reservations left open past the orphan age as unknown, once", async () => {
    const { store, submit } = ctx();
    const request = submit();
    await store.admitSubmit(request);
    expect(await store.markOrphans("acme", 60_000)).toEqual([]);
    await later(20);
    const marked = await store.markOrphans("acme", 5);
    expect(marked).toMatchObject([
      { reservationId: request.reservationId, state: "unknown", reason: "orphaned" },
    ]);
    expect(await store.markOrphans("acme", 5)).toEqual([]);
  });

  it("passes the ledger check after every fate, and names an open reservation past the orphan age", async () => {
    const { store, submit, submitTask, days } = ctx();
    const failed = await submitTask({ costMicros: 1000 });
    await submitTask({ costMicros: 2000 });
    await store.settleTask({ tenantId: "acme", taskId: failed.taskId, state: "failed", refund: true });
    const released = submit({ costMicros: 50 });
    await store.admitSubmit(released);
    await store.releaseReservation({
      tenantId: "acme",
      reservationId: released.reservationId,
      days: [days.today],
    });
    const unknown = submit({ costMicros: 70 });
    await store.admitSubmit(unknown);
    await store.markUnknown({
      tenantId: "acme",
      reservationId: unknown.reservationId,
      reason: "timeout",
      charge: { day: days.today, model: unknown.model, costMicros: 70, upstream: "main", attribution: {} },
    });
    const open = submit({ costMicros: 5 });
    await store.admitSubmit(open);

    const check = checkLedger("acme", await store.audit("acme", days.today), { orphanAfterMs: 60_000 });
    expect(check.problems).toEqual([]);
    expect(check.figures).toMatchObject({
      spentMicros: 2075,
      chargedMicros: 3000,
      refundedMicros: 1000,
      unknownMicros: 70,
      openMicros: 5,
      tasks: 2,
      inFlight: 3,
      unknownReservations: 1,
    });

    await later(20);
    const late = checkLedger("acme", await store.audit("acme", days.today), { orphanAfterMs: 5 });
    expect(late.ok).toBe(false);
    expect(late.problems).toEqual([expect.stringContaining(`reservation ${open.reservationId}`)]);
  });
}
