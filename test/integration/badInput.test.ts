import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BAD_CASES, GOOD_BODY, type BadCase, type CaseContext } from "../helpers/badInputCases.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { sendOverSocket, sendRaw } from "../helpers/rawHttp.js";

/**
 * Bad input never costs anything and never reaches APIXO: each case of the table (test/helpers/badInputCases.ts)
 * gets a 4xx in the envelope with a message saying what is wrong, the simulator sees nothing, no tenant's spend or
 * in-flight count moves, and the gateway stays healthy. One harness for the whole table.
 */

const TENANTS = ["acme", "off", "narrow"] as const;
const CAP_USD = 5;

interface Envelope {
  code: number;
  message: string;
  data: null;
  error: { type: string; requestId: string; retryable: boolean };
}

interface Answer {
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly body: string;
}

let h: Harness;
let ctx: CaseContext;
const today = (): string => new Date().toISOString().slice(0, 10);

async function reservations(): Promise<string> {
  const snapshots = await Promise.all(TENANTS.map((tenant) => h.gateway.store.snapshot(tenant, today())));
  return JSON.stringify(snapshots.map((s) => [s.tenantId, s.spentMicros, s.inFlight]));
}

async function send(c: BadCase): Promise<Answer> {
  const request = c.send(ctx);
  if (request.kind === "socket") {
    const answer = await sendOverSocket(h.url, request.pieces, { timeoutMs: 3_000 });
    return { status: answer.status, requestId: answer.headers["x-request-id"], body: answer.body };
  }
  const tenant = request.tenant === undefined ? "acme" : request.tenant;
  const answer = await sendRaw(h.url, request.path, {
    method: request.method,
    headers: { ...(tenant === null ? {} : { authorization: ctx.auth(tenant) }), ...request.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const requestId = answer.headers["x-request-id"];
  return {
    status: answer.status,
    requestId: typeof requestId === "string" ? requestId : undefined,
    body: answer.body.toString("utf8"),
  };
}

beforeAll(async () => {
  h = await startHarness({
    redisUrl: inject("redisUrl"),
    tenants: [
      { id: "acme", dailyCapUsd: CAP_USD, callbackSecret: "whsec-bad-input-0123456789" },
      { id: "off", enabled: false, dailyCapUsd: CAP_USD },
      { id: "narrow", allowedModels: ["flux2"], dailyCapUsd: CAP_USD },
    ],
    config: { callbacks: { publicBaseUrl: "https://gateway.example" } },
  });
  ctx = {
    auth: (tenant) => h.auth(tenant).authorization,
    unknownToken: `acme.${"Q".repeat(43)}`,
  };
});
afterAll(async () => {
  await h.close();
});

describe("bad input gets a 4xx in the envelope, reaches nothing upstream and reserves nothing", () => {
  it("has a table of at least 300 cases across the governed endpoints and the callback receiver", () => {
    expect(BAD_CASES.length).toBeGreaterThanOrEqual(300);
    for (const endpoint of ["submit", "status", "balance", "callback"] as const) {
      expect(BAD_CASES.filter((c) => c.endpoint === endpoint).length, endpoint).toBeGreaterThanOrEqual(15);
    }
    expect(new Set(BAD_CASES.map((c) => c.name)).size).toBe(BAD_CASES.length);
  });

  for (const c of BAD_CASES) {
    it(`${c.endpoint}: ${c.name} -> ${c.status} ${c.type}`, async () => {
      const upstreamBefore = h.simulator.stats.count();
      const reservedBefore = await reservations();

      const answer = await send(c);

      expect(answer.status).toBe(c.status);
      const envelope = JSON.parse(answer.body) as Envelope;
      expect(envelope).toMatchObject({
        code: c.status,
        data: null,
        error: { type: c.type, requestId: answer.requestId, retryable: false },
      });
      expect(envelope.message).toMatch(c.message);
      // A sentence, never the raw bytes that were sent.
      expect(envelope.message).toMatch(/^[\x20-\x7e]{10,400}$/);

      expect(h.simulator.stats.count()).toBe(upstreamBefore);
      expect(await reservations()).toBe(reservedBefore);
      const health = await fetch(`${h.url}/healthz`);
      expect(health.status).toBe(200);
    });
  }

  it("still serves good requests afterwards: submit, poll, balance", async () => {
    expect(await reservations()).toBe(JSON.stringify(TENANTS.map((t) => [t, 0, 0])));
    const submitted = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...h.auth("acme"), "content-type": "application/json" },
      body: GOOD_BODY,
    });
    expect(submitted.status).toBe(200);
    const { data } = (await submitted.json()) as { data: { taskId: string } };
    const polled = await fetch(`${h.url}/api/v1/statusTask/nano-banana?taskId=${data.taskId}`, {
      headers: h.auth("acme"),
    });
    expect(polled.status).toBe(200);
    const balance = await fetch(`${h.url}/api/v1/apikeys/current-balance`, { headers: h.auth("acme") });
    // The cap minus nano-banana's price: the bad cases charged nothing.
    expect(((await balance.json()) as { data: number }).data).toBeCloseTo(CAP_USD - 0.03, 6);
    expect(h.simulator.stats.count()).toBe(3);
  });
});
