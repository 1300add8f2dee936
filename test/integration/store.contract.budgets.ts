import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { dayWindow, startOfDayMs } from "../../src/limits/days.js";
import type { CapSpec, DayWindow, SubmitDecision } from "../../src/limits/store.js";
import type { ContractContext } from "./store.contract.js";

/**
 * Budget windows of the store contract: the monthly, per-model and per-user caps are checked and reserved in
 * the one admission, exactly under concurrency; a charge and its refund belong to the month of the charge;
 * spend is attributed to the end user and feature it was made for.
 */

const COST = 1000;

function count(decisions: readonly SubmitDecision[], kind: SubmitDecision["kind"]): number {
  return decisions.filter((d) => d.kind === kind).length;
}

/**
 * The tenant's day window at `instantMs`, as the gateway computes it in `timeZone`, with its bounds moved so
 * that the store's own clock (`storeNowMs`, Redis TIME or the manual clock) stands at that instant. The store
 * picks a day by its own clock against these bounds, so this is the store living that instant.
 */
function windowAt(timeZone: string, instantMs: number, storeNowMs: number): DayWindow {
  const w = dayWindow(timeZone, instantMs);
  const shift = storeNowMs - instantMs;
  return { ...w, startTodayMs: w.startTodayMs + shift, startTomorrowMs: w.startTomorrowMs + shift };
}

export function registerBudgetCases(ctx: () => ContractContext): void {
  const monthly = (capMicros: number): CapSpec => ({ window: "monthly", capMicros });

  for (const timeZone of ["Asia/Tokyo", "America/Los_Angeles"]) {
    it(`puts a charge in the last second of December (${timeZone}) in December and one a second later in January, where the monthly cap starts afresh; a refund goes back to the charge's month`, async () => {
      const { store, submit, now } = ctx();
      const newYear = startOfDayMs(timeZone, "2027-01-01");
      const lastSecond = newYear - 1000;
      const at = async (instantMs: number) => windowAt(timeZone, instantMs, await now());
      const caps = [monthly(2 * COST)];

      const december = await Promise.all([
        store.admitSubmit(submit({ caps, days: await at(lastSecond) })),
        store.admitSubmit(submit({ caps, days: await at(lastSecond) })),
      ]);
      expect(december.map((d) => (d.kind === "admitted" ? d.day : d.kind))).toEqual([
        "2026-12-31",
        "2026-12-31",
      ]);
      const full = await store.admitSubmit(submit({ caps, days: await at(lastSecond + 500) }));
      expect(full).toMatchObject({
        kind: "spend_cap",
        window: "monthly",
        day: "2026-12-31",
        capMicros: 2 * COST,
        spentMicros: 2 * COST,
      });

      const january = await store.admitSubmit(submit({ caps, days: await at(newYear) }));
      expect(january).toMatchObject({ kind: "admitted", day: "2027-01-01", remainingMicros: COST });
      expect((await store.snapshot("acme", "2026-12-31")).monthSpentMicros).toBe(2 * COST);
      expect((await store.snapshot("acme", "2027-01-01")).monthSpentMicros).toBe(COST);

      // A December task (admitted without caps) refunded in January gives its cost back to December.
      const taskId = `task-${randomUUID()}`;
      const dec = submit({ caps: [], days: await at(lastSecond) });
      expect(await store.admitSubmit(dec)).toMatchObject({ kind: "admitted", day: "2026-12-31" });
      await store.recordTask({
        tenantId: "acme",
        taskId,
        model: dec.model,
        costMicros: COST,
        day: "2026-12-31",
        reservationId: dec.reservationId,
        upstream: "main",
        ttlSec: 3600,
        attribution: {},
      });
      expect((await store.snapshot("acme", "2026-12-31")).monthSpentMicros).toBe(3 * COST);
      const settled = await store.settleTask({ tenantId: "acme", taskId, state: "failed", refund: true });
      expect(settled.refundedMicros).toBe(COST);
      expect((await store.snapshot("acme", "2026-12-31")).monthSpentMicros).toBe(2 * COST);
      expect((await store.snapshot("acme", "2027-01-01")).monthSpentMicros).toBe(COST);
      expect(await store.usage("acme", ["2026-12", "2027-01"])).toMatchObject([
        { period: "2026-12", spentMicros: 2 * COST },
        { period: "2027-01", spentMicros: COST },
      ]);
    });
  }

  it("admits exactly N of 500 concurrent submits when the monthly cap fits N, and spends exactly N * cost this month", async () => {
    const { store, submit, days } = ctx();
    const n = 37;
    const caps = [monthly(n * COST), { window: "daily" as const, capMicros: 1_000 * COST }];
    const decisions = await Promise.all(
      Array.from({ length: 500 }, () => store.admitSubmit(submit({ caps }))),
    );
    expect(count(decisions, "admitted")).toBe(n);
    expect(count(decisions, "spend_cap")).toBe(500 - n);
    for (const d of decisions) if (d.kind === "spend_cap") expect(d.window).toBe("monthly");
    const snapshot = await store.snapshot("acme", days.today);
    expect(snapshot.monthSpentMicros).toBe(n * COST);
    expect(snapshot.spentMicros).toBe(n * COST);
  });

  it("checks a model's daily cap against that model's spend only", async () => {
    const { store, submit } = ctx();
    const caps = (model: string): CapSpec[] =>
      model === "flux2" ? [{ window: "model_daily", capMicros: 2 * COST }] : [];
    const of = (model: string) => store.admitSubmit(submit({ model, caps: caps(model) }));
    expect((await of("flux2")).kind).toBe("admitted");
    expect((await of("kling")).kind).toBe("admitted");
    expect((await of("flux2")).kind).toBe("admitted");
    expect(await of("flux2")).toMatchObject({
      kind: "spend_cap",
      window: "model_daily",
      spentMicros: 2 * COST,
    });
    expect((await of("kling")).kind).toBe("admitted");
  });

  it("gives each end user exactly their daily cap under 500 concurrent submits, and leaves requests without a user alone", async () => {
    const { store, submit, days } = ctx();
    const userCap: CapSpec = { window: "user_daily", capMicros: 3 * COST };
    const users = Array.from({ length: 10 }, (_, i) => `user-${i}@example.com`);
    const requests = Array.from({ length: 500 }, (_, i) => {
      const user = users[i % 12];
      return user === undefined
        ? submit({ caps: [] })
        : submit({ caps: [userCap], attribution: { user, feature: "search" } });
    });
    const decisions = await Promise.all(requests.map((r) => store.admitSubmit(r)));
    const anonymous = requests.filter((r) => r.attribution.user === undefined).length;
    expect(count(decisions, "admitted")).toBe(users.length * 3 + anonymous);
    for (const d of decisions) if (d.kind === "spend_cap") expect(d.window).toBe("user_daily");
    const [rollup] = await store.usage("acme", [days.today]);
    for (const user of users) expect(rollup?.byUser[user]).toEqual({ spentMicros: 3 * COST, tasks: 3 });
    expect(rollup?.byFeature.search).toEqual({ spentMicros: 30 * COST, tasks: 30 });
    expect(rollup?.spentMicros).toBe((30 + anonymous) * COST);
    expect((await store.snapshot("acme", days.today, "user-0@example.com")).userSpentMicros).toBe(3 * COST);
  });

  it("names the broadest cap that refused first, and reports the smallest budget left", async () => {
    const { store, submit } = ctx();
    const caps: CapSpec[] = [
      monthly(10 * COST),
      { window: "daily", capMicros: 5 * COST },
      { window: "user_daily", capMicros: 2 * COST },
    ];
    const as = (user: string) => submit({ caps, attribution: { user } });
    expect(await store.admitSubmit(as("ann"))).toMatchObject({ kind: "admitted", remainingMicros: COST });
    expect(await store.admitSubmit(as("bob"))).toMatchObject({ kind: "admitted", remainingMicros: COST });
    expect(await store.admitSubmit(as("ann"))).toMatchObject({ kind: "admitted", remainingMicros: 0 });
    expect(await store.admitSubmit(as("ann"))).toMatchObject({ kind: "spend_cap", window: "user_daily" });
    expect(await store.admitSubmit(as("cid"))).toMatchObject({ kind: "admitted", remainingMicros: COST });
    expect(await store.admitSubmit(as("dan"))).toMatchObject({ kind: "admitted", remainingMicros: 0 });
    expect(await store.admitSubmit(as("eve"))).toMatchObject({ kind: "spend_cap", window: "daily" });
  });

  it("attributes a task to its user and feature on the ledger record and in the rollups; a release takes it back, a refund keeps the task counted", async () => {
    const { store, submit, days } = ctx();
    const attribution = { user: "ann", feature: "thumbnails" };
    const kept = submit({ attribution, costMicros: 700 });
    const refunded = submit({ attribution, costMicros: 300 });
    const released = submit({ attribution, costMicros: 50 });
    for (const r of [kept, refunded, released]) expect((await store.admitSubmit(r)).kind).toBe("admitted");
    await store.releaseReservation({
      tenantId: "acme",
      reservationId: released.reservationId,
      days: [days.today],
    });
    for (const [r, taskId] of [
      [kept, "t-kept"],
      [refunded, "t-refunded"],
    ] as const) {
      await store.recordTask({
        tenantId: "acme",
        taskId,
        model: r.model,
        costMicros: r.costMicros,
        day: days.today,
        reservationId: r.reservationId,
        upstream: "main",
        ttlSec: 3600,
        // The reservation's attribution wins; this one is used only when the store holds none (fail-open).
        attribution: { user: "someone-else" },
      });
    }
    await store.settleTask({ tenantId: "acme", taskId: "t-refunded", state: "failed", refund: true });
    expect(await store.getTask("acme", "t-kept")).toMatchObject({ user: "ann", feature: "thumbnails" });
    const month = days.today.slice(0, 7);
    const rollups = await store.usage("acme", [days.today, month]);
    for (const rollup of rollups) {
      expect(rollup.byUser).toEqual({ ann: { spentMicros: 700, tasks: 2 } });
      expect(rollup.byFeature).toEqual({ thumbnails: { spentMicros: 700, tasks: 2 } });
      expect(rollup.spentMicros).toBe(700);
    }
  });

  it("attributes a charge the store makes without a reservation (fail-open record, unknown outcome) to the write's attribution", async () => {
    const { store, days } = ctx();
    await store.recordTask({
      tenantId: "acme",
      taskId: "t-open",
      model: "flux2",
      costMicros: 400,
      day: days.today,
      reservationId: randomUUID(),
      upstream: "main",
      ttlSec: 3600,
      attribution: { user: "ann", feature: "search" },
    });
    await store.markUnknown({
      tenantId: "acme",
      reservationId: randomUUID(),
      reason: "timeout",
      charge: {
        day: days.today,
        model: "flux2",
        costMicros: 100,
        upstream: "main",
        attribution: { user: "bob" },
      },
    });
    const [rollup] = await store.usage("acme", [days.today]);
    expect(rollup?.byUser).toEqual({
      ann: { spentMicros: 400, tasks: 1 },
      bob: { spentMicros: 100, tasks: 1 },
    });
    expect(rollup?.byFeature).toEqual({ search: { spentMicros: 400, tasks: 1 } });
    expect(await store.getTask("acme", "t-open")).toMatchObject({ user: "ann", feature: "search" });
    const [reservation] = await store.reservations("acme");
    expect(reservation).toMatchObject({ user: "bob", feature: undefined });
  });

  it("gives back a zero-cost reservation (a model charged $0) with its count, like any other", async () => {
    const { store, submit, days } = ctx();
    const free = submit({ costMicros: 0, attribution: { user: "ann" } });
    expect((await store.admitSubmit(free)).kind).toBe("admitted");
    const released = await store.releaseReservation({
      tenantId: "acme",
      reservationId: free.reservationId,
      days: [days.today],
    });
    expect(released.released).toBe(true);
    expect(await store.reservations("acme")).toEqual([]);
    const [rollup] = await store.usage("acme", [days.today]);
    expect(rollup?.byUser).toEqual({});
    expect((await store.snapshot("acme", days.today)).inFlight).toBe(0);
  });

  it("reconciles a month's total with the sum of its days", async () => {
    const { store, submitTask, days } = ctx();
    await submitTask({ costMicros: 1200 });
    await submitTask({ costMicros: 800, days: { ...days } });
    const month = days.today.slice(0, 7);
    expect(await store.reconcileMonth("acme", month)).toBe(2000);
    expect((await store.snapshot("acme", days.today)).monthSpentMicros).toBe(2000);
  });

  it("tells a replay of an Idempotency-Key the smallest budget left, and charges it nothing", async () => {
    const { store, submit, days } = ctx();
    const caps: CapSpec[] = [monthly(10 * COST), { window: "daily", capMicros: 4 * COST }];
    const idempotency = { key: "budget-replay", ttlSec: 60 };
    const first = submit({ caps, idempotency });
    expect(await store.admitSubmit(first)).toMatchObject({ kind: "admitted", remainingMicros: 3 * COST });
    await store.recordTask({
      tenantId: "acme",
      taskId: "t-replayed",
      model: first.model,
      costMicros: COST,
      day: days.today,
      reservationId: first.reservationId,
      upstream: "main",
      ttlSec: 3600,
      attribution: {},
      idempotency: {
        ...idempotency,
        answer: { status: 200, contentType: "application/json", body: Buffer.from("{}") },
      },
    });
    expect(await store.admitSubmit(submit({ caps, idempotency }))).toMatchObject({
      kind: "replay",
      remainingMicros: 3 * COST,
      spentMicros: COST,
    });
    expect((await store.snapshot("acme", days.today)).monthSpentMicros).toBe(COST);
  });
}
