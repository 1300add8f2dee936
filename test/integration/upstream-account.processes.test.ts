import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { generateGatewayKey, hashGatewayKey } from "../../src/tenants/keys.js";
import { startServeProcesses, type CliProcess } from "../helpers/cli.js";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";

let simulator: Simulator | undefined;
const processes: CliProcess[] = [];
afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop();
  await simulator?.close();
  simulator = undefined;
});

describe("the account-wide budget across gateway processes", () => {
  it("lets two tenants on two serve processes sharing one Redis reach APIXO only up to the account's budget", async () => {
    simulator = createSimulator({ keys: { "sk-sim-acct": 1000 }, pendingMs: 0, processingMs: 0 });
    const upstreamUrl = await simulator.listen(0);
    const keys = { acme: generateGatewayKey(), globex: generateGatewayKey() };
    const started = await startServeProcesses(
      {
        server: { port: 0, metricsPort: 0 },
        upstream: {
          baseUrl: upstreamUrl,
          keys: [{ alias: "main", key: "sk-sim-acct" }],
          // A bucket that cannot refill during the test: exactly its burst may reach APIXO.
          protection: { account: { requestsPerMinute: 0.06, burst: 10, maxInFlightTasks: null } },
        },
        store: {
          kind: "redis",
          redisUrl: inject("redisUrl"),
          keyPrefix: `acctp${randomUUID().slice(0, 8)}`,
        },
        tenants: Object.entries(keys).map(([id, key]) => ({
          id,
          keys: [{ hash: hashGatewayKey(key) }],
          upstreamKey: "main",
          limits: GENEROUS_LIMITS,
        })),
      },
      2,
    );
    processes.push(...started.processes);
    const urls = started.urls;
    const statuses = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        fetch(`${urls[i % 2]!}/api/v1/generateTask/nano-banana`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${i % 4 < 2 ? keys.acme : keys.globex}`,
            "content-type": "application/json",
          },
          body: '{"input":{"prompt":"a cat"}}',
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(70);
    expect(simulator.stats.count("generateTask")).toBe(10);
  }, 60_000);
});
