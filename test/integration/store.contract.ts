import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerAccountCases } from "./store.contract.account.js";
import { registerBudgetCases } from "./store.contract.budgets.js";
import { registerFateCases } from "./store.contract.fates.js";
import { registerLedgerCases } from "./store.contract.ledger.js";
import type { RedisTopology } from "../../src/config/redis.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import type {
  BucketSpec,
  DayWindow,
  GovernanceStore,
  SubmitDecision,
  SubmitRequest,
} from "../../src/limits/store.js";

/** What each store's test file provides; `advanceMs` only where time can be moved (the in-memory store). */
export interface StoreUnderTest {
  readonly store: GovernanceStore;
  readonly advanceMs?: (ms: number) => void;
  /** The store's own clock (Redis TIME); defaults to Date.now(). */
  readonly storeNowMs?: () => Promise<number>;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;

/** A RedisStore under a fresh prefix on a Redis of the given topology, with Redis TIME as its clock. */
export async function redisStoreUnderTest(target: RedisTopology): Promise<StoreUnderTest> {
  const redis = createRedisClient(target, { commandTimeoutMs: 5000 });
  await waitForRedisReady(redis, 10_000);
  const store = new RedisStore({
    redis,
    prefix: `test-${randomUUID()}`,
    accountOf: contractAccountOf,
    topology: target.topology,
    replicaAcks: { count: target.replicaAcks, timeoutMs: target.replicaAckTimeoutMs },
  });
  return {
    store,
    storeNowMs: async () => {
      const [sec, usec] = await redis.time();
      return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    },
    close: () => store.close(),
  };
}

/** The contract's tenants and their upstream accounts: initech uses "batch", every other tenant "main". */
export const contractAccountOf = (tenantId: string): string => (tenantId === "initech" ? "batch" : "main");
const SLOW: BucketSpec = { name: "submit", ratePerSec: 0.001, burst: 1000 };

/** Days named by the test, with bounds far enough from the store's "now" that they cannot move during a test. */
export function windowAround(nowMs: number, today = "2026-11-22", offsetMs = 0): DayWindow {
  const [y, m, d] = today.split("-").map(Number);
  const name = (delta: number) => new Date(Date.UTC(y!, m! - 1, d! + delta)).toISOString().slice(0, 10);
  return {
    yesterday: name(-1),
    today,
    tomorrow: name(1),
    startTodayMs: nowMs - 6 * HOUR_MS + offsetMs,
    startTomorrowMs: nowMs + 6 * HOUR_MS + offsetMs,
  };
}

function count(decisions: readonly SubmitDecision[], kind: SubmitDecision["kind"]): number {
  return decisions.filter((d) => d.kind === kind).length;
}

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`GovernanceStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: GovernanceStore;
    let days: DayWindow;

    const now = async () => (sut.storeNowMs === undefined ? Date.now() : sut.storeNowMs());
    const submit = (over: Partial<SubmitRequest> = {}): SubmitRequest => ({
      tenantId: "acme",
      model: "flux2",
      buckets: [SLOW],
      maxInFlight: null,
      caps: [],
      attribution: {},
      costMicros: 1000,
      days,
      reservationId: randomUUID(),
      taskMaxAgeMs: HOUR_MS,
      upstream: "main",
      ...over,
    });
    const admitted = async (request: SubmitRequest) => {
      const decision = await store.admitSubmit(request);
      if (decision.kind !== "admitted") throw new Error(`expected admitted, got ${decision.kind}`);
      return decision;
    };
    const submitTask = async (
      over: Partial<SubmitRequest> = {},
      taskId = `task-${randomUUID()}`,
      traceparent?: string,
    ) => {
      const request = submit(over);
      const decision = await admitted(request);
      await store.recordTask({
        tenantId: request.tenantId,
        taskId,
        model: request.model,
        costMicros: request.costMicros,
        day: decision.day,
        reservationId: request.reservationId,
        upstream: "main",
        ttlSec: 3600,
        attribution: request.attribution,
        ...(traceparent === undefined ? {} : { traceparent }),
      });
      return { taskId, request, decision };
    };
    const spendToday = async (tenantId = "acme") => (await store.snapshot(tenantId, days.today)).spentMicros;

    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
      days = windowAround(await now());
    });
    afterEach(async () => {
      await sut.close();
    });

    it("admits exactly N of 500 concurrent submits when the cap fits N, and spends exactly N * cost", async () => {
      const n = 37;
      const cost = 1234;
      const requests = Array.from({ length: 500 }, () =>
        submit({ costMicros: cost, caps: [{ window: "daily", capMicros: n * cost }] }),
      );
      const decisions = await Promise.all(requests.map((r) => store.admitSubmit(r)));
      expect(count(decisions, "admitted")).toBe(n);
      expect(count(decisions, "spend_cap")).toBe(500 - n);
      expect(await spendToday()).toBe(n * cost);
      expect((await store.snapshot("acme", days.today)).inFlight).toBe(n);
    });

    it("admits exactly M of 500 concurrent submits under an in-flight cap of M", async () => {
      const decisions = await Promise.all(
        Array.from({ length: 500 }, () => store.admitSubmit(submit({ maxInFlight: 25 }))),
      );
      expect(count(decisions, "admitted")).toBe(25);
      expect(count(decisions, "concurrency_limited")).toBe(475);
      expect(await spendToday()).toBe(25 * 1000);
    });

    it("reserves nothing on a denial: no spend, no slot, no token", async () => {
      const bucket: BucketSpec = { name: "submit", ratePerSec: 0.001, burst: 3 };
      await admitted(submit({ buckets: [bucket], caps: [{ window: "daily", capMicros: 1000 }] }));
      const capped = await store.admitSubmit(
        submit({ buckets: [bucket], caps: [{ window: "daily", capMicros: 1000 }] }),
      );
      expect(capped).toMatchObject({
        kind: "spend_cap",
        window: "daily",
        capMicros: 1000,
        spentMicros: 1000,
        costMicros: 1000,
      });
      const busy = await store.admitSubmit(submit({ buckets: [bucket], maxInFlight: 1 }));
      expect(busy).toMatchObject({ kind: "concurrency_limited", inFlight: 1, limit: 1 });
      if (busy.kind === "concurrency_limited") expect(busy.retryAfterSec).toBeGreaterThanOrEqual(1);
      expect(await store.snapshot("acme", days.today)).toEqual({
        tenantId: "acme",
        spentMicros: 1000,
        monthSpentMicros: 1000,
        userSpentMicros: 0,
        inFlight: 1,
        unknownOutcomes: 0,
      });
      // Both denials left the two remaining tokens in place.
      expect(await store.admitSimple({ tenantId: "acme", buckets: [bucket] })).toMatchObject({
        rate: { remaining: 1 },
      });
      expect(await store.admitSimple({ tenantId: "acme", buckets: [bucket] })).toMatchObject({
        rate: { remaining: 0 },
      });
      const limited = await store.admitSubmit(submit({ buckets: [bucket] }));
      expect(limited).toMatchObject({
        kind: "rate_limited",
        bucket: "submit",
        rate: { limit: 3, remaining: 0 },
      });
      expect(await store.snapshot("acme", days.today)).toEqual({
        tenantId: "acme",
        spentMicros: 1000,
        monthSpentMicros: 1000,
        userSpentMicros: 0,
        inFlight: 1,
        unknownOutcomes: 0,
      });
    });

    it("lets exactly B of a concurrent burst of B + K through a bucket of burst B", async () => {
      const bucket: BucketSpec = { name: "status", ratePerSec: 0.001, burst: 10 };
      const decisions = await Promise.all(
        Array.from({ length: 25 }, () => store.admitSimple({ tenantId: "acme", buckets: [bucket] })),
      );
      const passed = decisions.filter((d) => d.kind === "admitted");
      expect(passed).toHaveLength(10);
      expect(passed.map((d) => d.rate.remaining).sort((a, b) => a - b)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
      for (const d of decisions.filter((x) => x.kind === "rate_limited")) {
        expect(d).toMatchObject({ bucket: "status", rate: { limit: 10, remaining: 0 } });
        // One token at 0.001/s takes 1000 s; a few ms of refill cannot shorten that by a whole second.
        expect(d.retryAfterSec).toBeGreaterThanOrEqual(999);
        expect(d.retryAfterSec).toBeLessThanOrEqual(1000);
      }
    });

    it("reports the tightest bucket and denies by the one that needs the longest wait", async () => {
      const wide: BucketSpec = { name: "submit", ratePerSec: 0.001, burst: 5 };
      const narrow: BucketSpec = { name: "submit:flux2", ratePerSec: 0.01, burst: 1 };
      const first = await store.admitSimple({ tenantId: "acme", buckets: [wide, narrow] });
      expect(first).toMatchObject({ kind: "admitted", rate: { limit: 1, remaining: 0, resetSec: 100 } });
      const second = await store.admitSimple({ tenantId: "acme", buckets: [wide, narrow] });
      expect(second).toMatchObject({ kind: "rate_limited", bucket: "submit:flux2", retryAfterSec: 100 });
      // The wide bucket kept its 4 tokens: nothing is taken unless every bucket passes.
      expect(await store.admitSimple({ tenantId: "acme", buckets: [wide] })).toMatchObject({
        rate: { remaining: 3 },
      });
    });

    it("refills tokens at the configured rate", async () => {
      const bucket: BucketSpec = { name: "submit", ratePerSec: 5, burst: 2 };
      const req = { tenantId: "acme", buckets: [bucket] };
      const startMs = await now();
      expect((await store.admitSimple(req)).kind).toBe("admitted");
      expect((await store.admitSimple(req)).kind).toBe("admitted");
      if (sut.advanceMs !== undefined) {
        expect(await store.admitSimple(req)).toMatchObject({ kind: "rate_limited", retryAfterSec: 1 });
        sut.advanceMs(199);
        expect((await store.admitSimple(req)).kind).toBe("rate_limited");
        sut.advanceMs(1);
        expect(await store.admitSimple(req)).toMatchObject({ kind: "admitted", rate: { remaining: 0 } });
        expect((await store.admitSimple(req)).kind).toBe("rate_limited");
        sut.advanceMs(400);
        expect(await store.admitSimple(req)).toMatchObject({ kind: "admitted", rate: { remaining: 1 } });
        return;
      }
      // Real time: a third token can appear no sooner than 1/rate after the bucket was last emptied.
      let passedAtMs = Number.NaN;
      for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
        if ((await store.admitSimple(req)).kind === "admitted") {
          passedAtMs = await now();
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(passedAtMs - startMs).toBeGreaterThanOrEqual(200);
    });

    it("releases the reservation: spend and slot come back, once", async () => {
      const request = submit({ costMicros: 500, maxInFlight: 1 });
      const decision = await admitted(request);
      expect(decision.spentMicros).toBe(500);
      const release = { tenantId: "acme", reservationId: request.reservationId, days: [decision.day] };
      expect(await store.releaseReservation(release)).toMatchObject({
        released: true,
        reservation: {
          reservationId: request.reservationId,
          costMicros: 500,
          day: decision.day,
          state: "open",
        },
      });
      expect(await store.releaseReservation(release)).toEqual({ released: false, reservation: null });
      expect(await store.snapshot("acme", days.today)).toEqual({
        tenantId: "acme",
        spentMicros: 0,
        monthSpentMicros: 0,
        userSpentMicros: 0,
        inFlight: 0,
        unknownOutcomes: 0,
      });
      expect(await store.spendOfDays("acme", [days.today])).toEqual([
        { day: days.today, spentMicros: 0, refundedMicros: 0, byModel: {} },
      ]);
      expect((await store.admitSubmit(submit({ maxInFlight: 1 }))).kind).toBe("admitted");
    });

    registerLedgerCases(() => ({ sut, store, days, submit, submitTask, spendToday, now }));
    registerAccountCases(() => ({ sut, store, days, submit, submitTask, spendToday, now }));
    registerFateCases(() => ({ sut, store, days, submit, submitTask, spendToday, now }));
    registerBudgetCases(() => ({ sut, store, days, submit, submitTask, spendToday, now }));
  });
}

export interface ContractContext {
  readonly sut: StoreUnderTest;
  readonly store: GovernanceStore;
  readonly days: DayWindow;
  readonly submit: (over?: Partial<SubmitRequest>) => SubmitRequest;
  readonly submitTask: (
    over?: Partial<SubmitRequest>,
    taskId?: string,
    traceparent?: string,
  ) => Promise<{
    taskId: string;
    request: SubmitRequest;
    decision: Extract<SubmitDecision, { kind: "admitted" }>;
  }>;
  readonly spendToday: (tenantId?: string) => Promise<number>;
  readonly now: () => Promise<number>;
}
