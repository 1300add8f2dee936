import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startOfDayMs } from "../../src/limits/days.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";

/**
 * Budgets over real HTTP (a real gateway, memory store on a manual clock, the simulator upstream): the
 * attribution headers are checked before anything is reserved and never reach APIXO, a 402 names its window
 * and when it resets, X-Budget-Remaining-Usd and current-balance give the smallest budget left, and the
 * audit line names who spent it. nano-banana is priced at $0.03 a task.
 */

const TOKYO = "Asia/Tokyo";
const LAST_SECOND_OF_2026 = startOfDayMs(TOKYO, "2027-01-01") - 1000;
const BODY = '{"input":{"prompt":"a lighthouse at dawn"}}';

let h: Harness;
const clock = new ManualClock(LAST_SECOND_OF_2026);

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: {
    code?: number;
    message?: string;
    data?: unknown;
    error?: { type?: string; details?: Record<string, unknown> };
  };
}

async function submit(tenant: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
    method: "POST",
    headers: { ...h.auth(tenant), "content-type": "application/json", ...headers },
    body: BODY,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Answer["body"],
  };
}

async function balance(tenant: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${h.url}/api/v1/apikeys/current-balance`, {
    headers: { ...h.auth(tenant), ...headers },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: number }).data;
}

const submitsSeen = () => h.simulator.stats.requests.filter((r) => r.endpoint === "generateTask");

async function auditLine(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = h.logs.records().find((l) => l.log === "audit" && l.requestId === requestId);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no audit line for ${requestId}`);
}

beforeAll(async () => {
  h = await startHarness({
    gateway: { clock },
    tenants: [
      // Two tasks a month, in Tokyo.
      { id: "monthly", timeZone: TOKYO, monthlyCapUsd: 0.06, dailyCapUsd: 10 },
      // Two tasks a day per end user; $1 a day for the tenant.
      { id: "peruser", timeZone: TOKYO, userDailyCapUsd: 0.06, dailyCapUsd: 1 },
      // One nano-banana task a day.
      { id: "permodel", timeZone: TOKYO, modelDailyCapsUsd: { "nano-banana": 0.03 } },
      // No caps: attribution only.
      { id: "plain", timeZone: TOKYO },
    ],
  });
});
afterAll(async () => {
  await h.close();
});

describe("attribution headers", () => {
  const bad: [string, Record<string, string>][] = [
    ["a user with a space", { "x-gateway-user": "ann smith" }],
    ["a user of 129 characters", { "x-gateway-user": "u".repeat(129) }],
    ["a feature with a non-ASCII character", { "x-gateway-feature": "caf\u00e9" }],
    ["an empty feature", { "x-gateway-feature": "" }],
  ];
  for (const [what, headers] of bad) {
    it(`refuses ${what} with 400 INVALID_REQUEST, before anything is reserved or sent`, async () => {
      const before = submitsSeen().length;
      const answer = await submit("peruser", headers);
      expect(answer.status).toBe(400);
      expect(answer.body.error?.type).toBe("INVALID_REQUEST");
      expect(answer.body.message).toMatch(
        /X-Gateway-(User|Feature) must be one value of 1-128 visible ASCII/,
      );
      expect(submitsSeen().length).toBe(before);
      const [today] = await h.gateway.store.spendOfDays("peruser", ["2026-12-31"]);
      expect(today?.spentMicros).toBe(0);
    });
  }

  it("keeps the end user and feature on the ledger record and the audit line, and never sends them to APIXO", async () => {
    const answer = await submit("peruser", {
      "x-gateway-user": "ann@example.com",
      "x-gateway-feature": "thumbnails",
      "x-request-id": "budgets-attributed-1",
    });
    expect(answer.status).toBe(200);
    const taskId = String((answer.body.data as { taskId?: string } | undefined)?.taskId);
    expect(await h.gateway.store.getTask("peruser", taskId)).toMatchObject({
      user: "ann@example.com",
      feature: "thumbnails",
    });
    expect(await auditLine("budgets-attributed-1")).toMatchObject({
      user: "ann@example.com",
      feature: "thumbnails",
      costUsd: 0.03,
    });
    const sent = submitsSeen().at(-1);
    expect(Object.keys(sent?.headers ?? {}).filter((name) => name.startsWith("x-gateway"))).toEqual([]);
  });
});

describe("attribution of a settled task", () => {
  it("names the task's end user and feature on the audit line of the poll that settles it", async () => {
    const sent = await submit("plain", { "x-gateway-user": "dora", "x-gateway-feature": "search" });
    const taskId = String((sent.body.data as { taskId?: string } | undefined)?.taskId);
    const response = await fetch(`${h.url}/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
      headers: { ...h.auth("plain"), "x-request-id": "budgets-settling-poll" },
    });
    expect(await response.text()).toContain('"state":"success"');
    expect(await auditLine("budgets-settling-poll")).toMatchObject({
      taskId,
      user: "dora",
      feature: "search",
      decisions: expect.arrayContaining(["settled"]) as unknown,
    });
  });
});

describe("budget windows", () => {
  it("gives each end user their daily cap, and does not apply it to a request without X-Gateway-User", async () => {
    const bob = { "x-gateway-user": "bob" };
    expect((await submit("peruser", bob)).status).toBe(200);
    expect(await balance("peruser", bob)).toBe(0.03);
    expect((await submit("peruser", bob)).status).toBe(200);
    expect(await balance("peruser", bob)).toBe(0);
    const refused = await submit("peruser", bob);
    expect(refused.status).toBe(402);
    expect(refused.body.error?.details).toMatchObject({ window: "user_daily" });
    expect(refused.body.message).toContain("It resets at 2027-01-01T00:00:00+09:00");
    // Someone else, and nobody in particular, still have budget.
    expect((await submit("peruser", { "x-gateway-user": "cid" })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await submit("peruser")).status).toBe(200);
    // current-balance without a user: the tenant's own daily budget ($1 less what was spent today).
    const [today] = await h.gateway.store.spendOfDays("peruser", ["2026-12-31"]);
    expect(await balance("peruser")).toBeCloseTo((1_000_000 - (today?.spentMicros ?? 0)) / 1e6, 6);
  });

  it("caps one model's daily spend", async () => {
    expect((await submit("permodel")).status).toBe(200);
    const refused = await submit("permodel");
    expect(refused.status).toBe(402);
    expect(refused.body.message).toMatch(/^Daily spend cap for this model reached/);
    expect(refused.body.error?.details).toMatchObject({ window: "model_daily", capUsd: 0.03 });
  });
  // Last: it moves the clock into January.
  it("refuses past the monthly cap with a 402 naming the month and its reset in the tenant's zone; the next month starts afresh", async () => {
    expect((await submit("monthly")).status).toBe(200);
    const second = await submit("monthly");
    expect(second.status).toBe(200);
    expect(second.headers.get("x-budget-remaining-usd")).toBe("0");
    const refused = await submit("monthly");
    expect(refused.status).toBe(402);
    expect(refused.body.message).toMatch(/^Monthly spend cap reached for tenant 'monthly': cap \$0\.06/);
    expect(refused.body.message).toContain("It resets at 2027-01-01T00:00:00+09:00 (Asia/Tokyo)");
    expect(refused.body.error?.details).toMatchObject({
      window: "monthly",
      resetsAt: "2027-01-01T00:00:00+09:00",
    });

    clock.advance(1000);
    const january = await submit("monthly");
    expect(january.status).toBe(200);
    expect(january.headers.get("x-budget-remaining-usd")).toBe("0.03");
    const snapshot = await h.gateway.store.snapshot("monthly", "2027-01-01");
    expect(snapshot.monthSpentMicros).toBe(30_000);
    expect((await h.gateway.store.snapshot("monthly", "2026-12-31")).monthSpentMicros).toBe(60_000);
    // current-balance: this month's budget is the smallest (the daily cap is $10, the upstream balance $1,000).
    expect(await balance("monthly")).toBe(0.03);
  });
});
