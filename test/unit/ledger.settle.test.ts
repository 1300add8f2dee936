import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { configSchema, type GatewayConfig } from "../../src/config/schema.js";
import { Journal } from "../../src/ledger/journal.js";
import { settleOutcome, shouldRefund, type ObservedOutcome } from "../../src/ledger/settle.js";
import { LedgerWriter } from "../../src/ledger/writer.js";
import { dayWindow } from "../../src/limits/days.js";
import { MemoryStore } from "../../src/limits/memory.js";
import type { Ledger, StoredAnswer, TaskRecord } from "../../src/limits/store.js";
import { noEvents, type GatewayEvents } from "../../src/telemetry/events.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { hashGatewayKey } from "../../src/tenants/keys.js";
import { accountLimitsFor } from "../../src/tenants/policy.js";

const COST = 30_000;
const NOW = Date.UTC(2026, 11, 1, 12);
const DAY = "2026-12-01";

function configWith(governance: Record<string, unknown> = {}): GatewayConfig {
  return configSchema.parse({
    upstream: {
      keys: [{ alias: "main", key: "sk-test" }],
      protection: { account: { requestsPerMinute: null, maxInFlightTasks: 1 } },
    },
    governance,
    tenants: [{ id: "acme", upstreamKey: "main", keys: [{ hash: hashGatewayKey("agw_test") }] }],
  });
}

function setup(config: GatewayConfig = configWith()) {
  const clock = new ManualClock(NOW);
  const store = new MemoryStore({ clock });
  const settles: string[] = [];
  // The memory store (its prototype), with settleTask counting the writes that reach it: the writer is the
  // only caller here, and it calls nothing else for a settle.
  const counted: Ledger = Object.assign(Object.create(store) as MemoryStore, {
    settleTask: (request: Parameters<Ledger["settleTask"]>[0]) => {
      settles.push(`${request.state} refund=${request.refund} answer=${request.answer !== undefined}`);
      return store.settleTask(request);
    },
  });
  const finished: string[] = [];
  const events: GatewayEvents = {
    ...noEvents,
    taskFinished: (e) => finished.push(`${e.state} ${e.refundedMicros}`),
  };
  const ledger = new LedgerWriter({
    store: counted,
    journal: new Journal({ maxEntries: 10, path: undefined, onChange: () => undefined }),
    events,
    clock,
    logger: createLogger("silent"),
    observe: (_operation, call) => call(),
  });
  const account = accountLimitsFor(config, "main");
  let seq = 0;

  /** One submit as the route makes it: admitted (taking the account's one slot), then charged to a task. */
  const admit = (reservationId: string) =>
    store.admitSubmit({
      tenantId: "acme",
      model: "nano-banana",
      buckets: [],
      maxInFlight: null,
      caps: [],
      attribution: {},
      costMicros: COST,
      days: dayWindow("UTC", clock.now()),
      reservationId,
      taskMaxAgeMs: 3_600_000,
      upstream: "main",
      ...(account === undefined ? {} : { account }),
    });
  const charged = async (): Promise<TaskRecord> => {
    const n = ++seq;
    expect((await admit(`r${n}`)).kind).toBe("admitted");
    await store.recordTask({
      tenantId: "acme",
      taskId: `t${n}`,
      model: "nano-banana",
      costMicros: COST,
      day: DAY,
      reservationId: `r${n}`,
      upstream: "main",
      ttlSec: 3_600,
      attribution: {},
    });
    const task = await store.getTask("acme", `t${n}`);
    if (task === null) throw new Error("the task was not recorded");
    return task;
  };
  const spend = async () => (await store.spendOfDays("acme", [DAY]))[0];
  const settle = (task: TaskRecord, outcome: ObservedOutcome) =>
    settleOutcome({ ledger }, config, task, outcome);
  return { store, settles, finished, admit, charged, spend, settle };
}

const FAILED: ObservedOutcome = { state: "failed", failCode: "CONTENT_VIOLATION", costTimeMs: 1_200 };
const SUCCESS: ObservedOutcome = { state: "success", failCode: undefined, costTimeMs: 1_200 };
const ANSWER: StoredAnswer = {
  status: 200,
  contentType: "application/json",
  body: Buffer.from('{"code":200,"data":{"taskId":"t1","state":"success"}}'),
};

describe("settling a task the gateway saw finish", () => {
  it("refunds a failed task once, to its day, however many callers see it fail", async () => {
    const { charged, settle, spend, finished, store } = setup();
    const task = await charged();
    const results = await Promise.all([settle(task, FAILED), settle(task, FAILED), settle(task, FAILED)]);
    expect(results.filter((r) => r?.settled === true)).toHaveLength(1);
    expect(await spend()).toMatchObject({ day: DAY, spentMicros: 0, refundedMicros: COST });
    expect(await store.getTask("acme", task.taskId)).toMatchObject({
      state: "failed",
      refundedMicros: COST,
      failCode: "CONTENT_VIOLATION",
    });
    // Only the call that settled reports it.
    expect(finished).toEqual([`failed ${COST}`]);
  });

  it("keeps a successful task's charge", async () => {
    const { charged, settle, spend, finished } = setup();
    const task = await charged();
    expect(await settle(task, SUCCESS)).toMatchObject({ settled: true, refundedMicros: 0 });
    expect(await spend()).toMatchObject({ spentMicros: COST, refundedMicros: 0 });
    expect(finished).toEqual(["success 0"]);
  });

  it("keeps a failed task's charge when refunds are off, or for a failCode the operator excluded", async () => {
    const off = setup(configWith({ refundFailedTasks: false }));
    await off.settle(await off.charged(), FAILED);
    expect(await off.spend()).toMatchObject({ spentMicros: COST, refundedMicros: 0 });

    const excluded = setup(configWith({ noRefundFailCodes: ["CONTENT_VIOLATION"] }));
    await excluded.settle(await excluded.charged(), FAILED);
    expect(await excluded.spend()).toMatchObject({ spentMicros: COST, refundedMicros: 0 });
    // Another failCode (or none at all) is still refunded.
    await excluded.settle(await excluded.charged(), { ...FAILED, failCode: "TIMEOUT" });
    await excluded.settle(await excluded.charged(), { ...FAILED, failCode: undefined });
    expect(await excluded.spend()).toMatchObject({ spentMicros: COST, refundedMicros: 2 * COST });
    expect(excluded.settles).toEqual([
      "failed refund=false answer=false",
      "failed refund=true answer=false",
      "failed refund=true answer=false",
    ]);
  });

  it("states the refund policy in one place: only failed tasks, unless off or excluded", () => {
    const { governance } = configWith({ noRefundFailCodes: ["X"] });
    expect(shouldRefund(governance, FAILED)).toBe(true);
    expect(shouldRefund(governance, SUCCESS)).toBe(false);
    expect(shouldRefund(governance, { ...FAILED, failCode: "X" })).toBe(false);
    expect(shouldRefund({ ...governance, refundFailedTasks: false }, FAILED)).toBe(false);
  });

  it("visits a settled task again only to store its answer for the status cache", async () => {
    const { charged, settle, settles, store, finished } = setup();
    const task = await charged();
    await settle(task, SUCCESS);
    const settled = await store.getTask("acme", task.taskId);
    if (settled === null) throw new Error("task gone");
    // Seen finished again with nothing new to keep: the store is not asked at all.
    expect(await settle(settled, SUCCESS)).toBeUndefined();
    expect(settles).toEqual(["success refund=false answer=false"]);
    // With the answer the first settle did not have: stored, and nothing is settled or reported twice.
    expect(await settle(settled, { ...SUCCESS, answer: ANSWER })).toMatchObject({ settled: false });
    expect(settles).toHaveLength(2);
    expect(finished).toEqual(["success 0"]);
    const poll = await store.admitStatus({ tenantId: "acme", buckets: [], taskId: task.taskId });
    expect(poll).toMatchObject({ kind: "admitted", cached: ANSWER });
  });

  it("gives the account's in-flight slot back when the task settles", async () => {
    const { charged, settle, admit } = setup();
    const task = await charged();
    // The account holds one task in flight: another submit is refused while this one runs.
    expect(await admit("r-other")).toMatchObject({ kind: "account_limited", reason: "concurrency" });
    await settle(task, SUCCESS);
    expect((await admit("r-after")).kind).toBe("admitted");
  });
});
