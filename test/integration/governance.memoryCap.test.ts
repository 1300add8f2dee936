import { afterEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";

/** The embedded store's size cap (store.memoryMaxRecords): bounded memory, and a refusal that charges nothing. */

const BODY = '{"input":{"prompt":"a lighthouse at dawn"}}';
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function submit(h: Harness): Promise<{ status: number; type: string | undefined }> {
  const response = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
    method: "POST",
    headers: { ...h.auth("acme"), "content-type": "application/json" },
    body: BODY,
  });
  const body = (await response.json()) as { error?: { type?: string } };
  return { status: response.status, type: body.error?.type };
}

describe("store.memoryMaxRecords", () => {
  it("refuses submits once the memory store holds that many records: 503, nothing sent to APIXO, nothing charged", async () => {
    harness = await startHarness({ tenants: [{ id: "acme" }], config: { store: { memoryMaxRecords: 3 } } });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await submit(harness));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 503, 503]);
    expect(answers[3]?.type).toBe("LIMITS_UNAVAILABLE");
    expect(harness.simulator.stats.tasks).toBe(3);
    const [today] = await harness.gateway.store.spendOfDays("acme", [new Date().toISOString().slice(0, 10)]);
    expect(today?.spentMicros).toBe(3 * 30_000);
    expect(await harness.gateway.store.reservations("acme")).toEqual([]);
  });
});
