import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import type { AccountLimits, BucketSpec, StoredAnswer } from "../../src/limits/store.js";
import type { ContractContext } from "./store.contract.js";

const SLOW_ACCOUNT: BucketSpec = { name: "account", ratePerSec: 0.001, burst: 5 };

function answer(text: string): StoredAnswer {
  return { status: 200, contentType: "application/json; charset=utf-8", body: Buffer.from(text, "utf8") };
}

/** Account-wide limits (shared by tenants of one upstream key) and the terminal-answer cache. */
export function registerAccountCases(ctx: () => ContractContext): void {
  it("lets exactly the account's burst of 40 concurrent submits from two tenants through", async () => {
    const { store, submit, days } = ctx();
    const account: AccountLimits = { upstream: "main", bucket: SLOW_ACCOUNT, maxInFlight: null };
    const decisions = await Promise.all(
      ["acme", "globex"].flatMap((tenantId) =>
        Array.from({ length: 20 }, () => store.admitSubmit(submit({ tenantId, account }))),
      ),
    );
    expect(decisions.filter((d) => d.kind === "admitted")).toHaveLength(5);
    const denied = decisions.filter((d) => d.kind === "account_limited");
    expect(denied).toHaveLength(35);
    expect(denied[0]).toMatchObject({ upstream: "main", reason: "rate", rate: { limit: 5, remaining: 0 } });
    if (denied[0]?.kind === "account_limited") expect(denied[0].retryAfterSec).toBeGreaterThanOrEqual(1);
    // A denied request took nothing: spend and slots are those of the five admitted ones only.
    const acme = await store.snapshot("acme", days.today);
    const globex = await store.snapshot("globex", days.today);
    expect(acme.inFlight + globex.inFlight).toBe(5);
    expect(acme.spentMicros + globex.spentMicros).toBe(5 * 1000);
  });

  it("checks the tenant's own limits before the account's", async () => {
    const { store, submit } = ctx();
    const account: AccountLimits = { upstream: "main", bucket: SLOW_ACCOUNT, maxInFlight: 1 };
    const tenantBucket: BucketSpec = { name: "submit", ratePerSec: 0.001, burst: 1 };
    expect((await store.admitSubmit(submit({ buckets: [tenantBucket], account }))).kind).toBe("admitted");
    const second = await store.admitSubmit(submit({ buckets: [tenantBucket], account }));
    expect(second).toMatchObject({ kind: "rate_limited", bucket: "submit" });
  });

  it("caps in-flight tasks across tenants; settle and release give the account's slot back", async () => {
    const { store, submit, submitTask } = ctx();
    const account: AccountLimits = { upstream: "main", bucket: null, maxInFlight: 3 };
    const first = await submitTask({ account });
    await submitTask({ tenantId: "globex", account });
    const held = submit({ tenantId: "globex", account });
    const heldDecision = await store.admitSubmit(held);
    expect(heldDecision.kind).toBe("admitted");
    const full = await store.admitSubmit(submit({ account }));
    expect(full).toMatchObject({ kind: "account_limited", upstream: "main", reason: "concurrency" });

    await store.settleTask({
      tenantId: "acme",
      taskId: first.taskId,
      state: "success",
      refund: true,
      account: { upstream: "main" },
    });
    const next = submit({ account });
    expect((await store.admitSubmit(next)).kind).toBe("admitted");
    expect((await store.admitSubmit(submit({ account }))).kind).toBe("account_limited");

    if (heldDecision.kind !== "admitted") throw new Error("unreachable");
    await store.releaseReservation({
      tenantId: "globex",
      reservationId: held.reservationId,
      days: [heldDecision.day],
      account: { upstream: "main" },
    });
    expect((await store.admitSubmit(submit({ account }))).kind).toBe("admitted");
    // Another upstream key's account (and its tenant) is separate.
    const other: AccountLimits = { upstream: "batch", bucket: null, maxInFlight: 1 };
    expect((await store.admitSubmit(submit({ tenantId: "initech", account: other }))).kind).toBe("admitted");
  });

  it("keeps a terminal answer byte for byte on the ledger and returns it with the status admission", async () => {
    const { store, submitTask } = ctx();
    const { taskId } = await submitTask();
    const bytes = answer(`{"code":200,"message":"success","data":{"taskId":"${taskId}","state":"success"}}`);
    const pending = await store.admitStatus({ tenantId: "acme", buckets: [], taskId });
    expect(pending.kind === "admitted" && pending.cached).toBeFalsy();
    const settled = await store.settleTask({
      tenantId: "acme",
      taskId,
      state: "success",
      refund: true,
      answer: bytes,
    });
    expect(settled.settled).toBe(true);
    const hit = await store.admitStatus({ tenantId: "acme", buckets: [], taskId });
    expect(hit).toMatchObject({ kind: "admitted", task: { state: "success" } });
    if (hit.kind !== "admitted" || hit.cached === undefined) throw new Error("expected a cached answer");
    expect(hit.cached.status).toBe(200);
    expect(hit.cached.contentType).toBe(bytes.contentType);
    expect(hit.cached.body.equals(bytes.body)).toBe(true);
    // Another tenant never sees it, and a later settle does not replace it.
    expect(await store.admitStatus({ tenantId: "globex", buckets: [], taskId })).toEqual(
      expect.objectContaining({ task: null }),
    );
    await store.settleTask({
      tenantId: "acme",
      taskId,
      state: "success",
      refund: true,
      answer: answer("{}"),
    });
    const again = await store.admitStatus({ tenantId: "acme", buckets: [], taskId });
    expect(again.kind === "admitted" && again.cached?.body.equals(bytes.body)).toBe(true);
  });

  it("stores the answer of a task that settled before without one", async () => {
    const { store, submitTask } = ctx();
    const { taskId } = await submitTask({ costMicros: 400 });
    await store.settleTask({ tenantId: "acme", taskId, state: "failed", refund: true });
    const bytes = answer(`{"data":{"state":"failed","failCode":"NSFW","taskId":"${taskId}"}}`);
    const late = await store.settleTask({
      tenantId: "acme",
      taskId,
      state: "failed",
      refund: true,
      answer: bytes,
    });
    expect(late).toMatchObject({ settled: false, refundedMicros: 0 });
    const hit = await store.admitStatus({ tenantId: "acme", buckets: [], taskId });
    expect(hit.kind === "admitted" && hit.cached?.body.equals(bytes.body)).toBe(true);
    expect((await store.getTask("acme", taskId))?.refundedMicros).toBe(400);
  });

  it("takes the account's token for a poll only when APIXO will be asked", async () => {
    const { store, submitTask } = ctx();
    const account: AccountLimits = {
      upstream: "main",
      bucket: { name: "account", ratePerSec: 0.001, burst: 2 },
      maxInFlight: null,
    };
    const cachedTask = await submitTask();
    await store.settleTask({
      tenantId: "acme",
      taskId: cachedTask.taskId,
      state: "success",
      refund: true,
      answer: answer("{}"),
    });
    const open = await submitTask();
    const poll = (tenantId: string, taskId: string) =>
      store.admitStatus({ tenantId, buckets: [], taskId, account });
    // Someone else's task, an unknown task and a cached answer cost the account nothing.
    for (let i = 0; i < 5; i++) {
      expect((await poll("globex", open.taskId)).kind).toBe("admitted");
      expect((await poll("acme", `missing-${randomUUID()}`)).kind).toBe("admitted");
      expect((await poll("acme", cachedTask.taskId)).kind).toBe("admitted");
    }
    expect((await poll("acme", open.taskId)).kind).toBe("admitted");
    expect((await poll("acme", open.taskId)).kind).toBe("admitted");
    expect(await poll("acme", open.taskId)).toMatchObject({ kind: "account_limited", reason: "rate" });
  });
}
