import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { metricValue, newTask, pollTask, submitTask } from "../helpers/upstreamClient.js";

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

const TENANTS = [{ id: "acme" }, { id: "globex" }];

/** Two gateway processes' worth (two startGateway instances) on one Redis, both in front of one simulator. */
async function twoGateways(protection: Record<string, unknown>): Promise<[Harness, Harness]> {
  const keyPrefix = `acct${randomUUID().slice(0, 8)}`;
  const redisUrl = inject("redisUrl");
  const first = await startHarness({
    tenants: TENANTS,
    redisUrl,
    config: { store: { keyPrefix }, upstream: { protection } },
  });
  harnesses.push(first);
  const second = await startHarness({
    tenants: TENANTS,
    redisUrl,
    config: { store: { keyPrefix }, upstream: { baseUrl: first.simulator.url, protection } },
  });
  harnesses.push(second);
  return [first, second];
}

describe("account-wide budgets per upstream key", () => {
  it("holds two tenants on two gateways to the account's budget: APIXO never sees more", async () => {
    // A bucket that does not refill during the test: exactly its burst may reach APIXO, however timed.
    const [a, b] = await twoGateways({
      account: { requestsPerMinute: 0.06, burst: 10, maxInFlightTasks: null },
    });
    const answers = await Promise.all(
      [a, b].flatMap((h) => TENANTS.flatMap(({ id }) => Array.from({ length: 20 }, () => submitTask(h, id)))),
    );
    const accepted = answers.filter((x) => x.status === 200);
    const limited = answers.filter((x) => x.status === 429);
    expect(accepted).toHaveLength(10);
    expect(limited).toHaveLength(70);
    expect(a.simulator.stats.count("generateTask")).toBe(10);
    expect(b.simulator.stats.count("generateTask")).toBe(0);
    for (const answer of limited) {
      expect(answer.json().error?.type).toBe("RATE_LIMITED");
      expect(answer.json().message).toMatch(/shared APIXO account/);
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(answer.headers.get("ratelimit-limit")).toBe("10");
    }
    const counted =
      (await metricValue(a, "account_limited_total", { upstream: "main", reason: "rate" })) +
      (await metricValue(b, "account_limited_total", { upstream: "main", reason: "rate" }));
    expect(counted).toBe(70);
    // The tenants' own limits were not what refused them, and nothing was charged for the refusals.
    const day = new Date().toISOString().slice(0, 10);
    const spent = await Promise.all(TENANTS.map(({ id }) => a.gateway.store.snapshot(id, day)));
    expect(spent.reduce((sum, s) => sum + s.inFlight, 0)).toBe(10);
  });

  it("spends no account budget on polls answered from the cache", async () => {
    const [a, b] = await twoGateways({
      account: { requestsPerMinute: 0.06, burst: 3, maxInFlightTasks: null },
    });
    const taskId = await newTask(a, "acme");
    expect((await pollTask(a, "acme", taskId)).status).toBe(200);
    for (let i = 0; i < 20; i++)
      expect((await pollTask(i % 2 === 0 ? a : b, "acme", taskId)).status).toBe(200);
    expect(a.simulator.stats.count("statusTask")).toBe(1);
    // Two of three tokens are gone (submit and the first poll): one more call to APIXO fits, then none.
    expect((await submitTask(b, "globex")).status).toBe(200);
    const refused = await submitTask(a, "globex");
    expect(refused.status).toBe(429);
  });

  it("caps in-flight tasks across tenants and gateways; a finished task frees its account slot", async () => {
    const [a, b] = await twoGateways({
      account: { requestsPerMinute: null, maxInFlightTasks: 3 },
      statusCache: false,
    });
    const first = await newTask(a, "acme");
    await newTask(b, "globex");
    await newTask(a, "globex");
    const refused = await submitTask(b, "acme");
    expect(refused.status).toBe(429);
    expect(refused.json().error?.type).toBe("CONCURRENCY_LIMITED");
    expect(refused.json().message).toMatch(/shared APIXO account/);
    expect(await metricValue(b, "account_limited_total", { upstream: "main", reason: "concurrency" })).toBe(
      1,
    );
    expect(a.simulator.stats.count("generateTask")).toBe(3);
    // The simulator finishes tasks at once: the poll settles the task and gives its slot back.
    expect((await pollTask(b, "acme", first)).json().data?.state).toBe("success");
    expect((await submitTask(b, "acme")).status).toBe(200);
  });
});
