import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  scrape,
  startSim,
  startTestGateway,
  submit,
  submitAndFinish,
  tenantKeys,
} from "../helpers/telemetry.js";

const PROMTOOL = process.env.PROMTOOL ?? "promtool";

function promtoolPresent(): boolean {
  return spawnSync(PROMTOOL, ["--version"], { encoding: "utf8" }).status === 0;
}

const keys = tenantKeys();
let sim: Simulator;
let gw: RunningGateway;

beforeAll(async () => {
  sim = await startSim();
  ({ gateway: gw } = await startTestGateway(sim, keys, { telemetry: { balancePollSeconds: 0.05 } }));
});
afterAll(async () => {
  await gw.close();
  await sim.close();
});

describe("promtool", () => {
  it("is installed (Debian package prometheus; the README's test command needs it)", () => {
    expect(promtoolPresent(), `${PROMTOOL} not found: apt-get install prometheus`).toBe(true);
  });

  it("passes `promtool check metrics` on a real scrape taken after traffic", async () => {
    await submitAndFinish(gw, keys.acme, "nano-banana");
    await submitAndFinish(gw, keys.beta, "flux2", "sim:fail=CONTENT_VIOLATION");
    await submit(gw, "agw_unknown", "nano-banana");
    await submit(gw, keys.acme, "midjourney");
    sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
    await submit(gw, keys.acme, "nano-banana");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await scrape(gw);
    expect(text).toContain("apixo_gateway_upstream_balance_usd");

    const result = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    if (result.error !== undefined) throw result.error;
    expect(`${result.stdout}${result.stderr}`.trim()).toBe("");
    expect(result.status).toBe(0);
  });
});
