import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { generateGatewayKey, hashGatewayKey } from "../../src/tenants/keys.js";
import { spawnCli, type CliProcess } from "../helpers/cli.js";

let simulator: Simulator | undefined;
let gateway: CliProcess | undefined;
afterEach(async () => {
  await gateway?.stop();
  await simulator?.close();
  gateway = undefined;
  simulator = undefined;
});

function configYaml(upstreamUrl: string, keyHashes: string[], logging = ""): string {
  return [
    "server: { port: 0, metricsPort: 0 }",
    ...(logging === "" ? [] : [`logging: ${logging}`]),
    `upstream: { baseUrl: "${upstreamUrl}", keys: [{ alias: main, key: "\${SIM_KEY}" }] }`,
    "tenants:",
    "  - id: acme",
    "    upstreamKey: main",
    "    keys:",
    ...keyHashes.map((h) => `      - hash: ${h}`),
  ].join("\n");
}

async function startServe(keyHashes: string[], logging = ""): Promise<{ url: string; configPath: string }> {
  simulator = createSimulator({ keys: { "sk-sim-life": 100 }, pendingMs: 0, processingMs: 0 });
  const upstreamUrl = await simulator.listen(0);
  const configPath = join(mkdtempSync(join(tmpdir(), "agw-")), "gateway.yaml");
  writeFileSync(configPath, configYaml(upstreamUrl, keyHashes, logging));
  gateway = spawnCli(["serve", "--config", configPath], { SIM_KEY: "sk-sim-life", LOG_LEVEL: "info" });
  const match = await gateway.waitFor(/"event":"listening".*"url":"(http:\/\/[^"]+)"/);
  return { url: match[1]!, configPath };
}

function balance(url: string, key: string, requestId?: string): Promise<number> {
  const headers = {
    authorization: `Bearer ${key}`,
    ...(requestId === undefined ? {} : { "x-request-id": requestId }),
  };
  return fetch(`${url}/api/v1/apikeys/current-balance`, { headers }).then((r) => r.status);
}

const auditLines = (process: CliProcess): string[] =>
  process.stdout.filter((l) => l.includes('"log":"audit"'));

describe("configuration reload on SIGHUP", () => {
  it("applies a valid new file: a key added to the file works without a restart", async () => {
    const [first, second] = [generateGatewayKey(), generateGatewayKey()];
    const { url, configPath } = await startServe([hashGatewayKey(first)]);
    expect(await balance(url, second)).toBe(401);
    writeFileSync(configPath, configYaml(simulator!.url, [hashGatewayKey(first), hashGatewayKey(second)]));
    gateway!.child.kill("SIGHUP");
    await gateway!.waitFor(/"event":"config_reloaded"/);
    expect(await balance(url, second)).toBe(200);
    expect(await balance(url, first)).toBe(200);
  });

  it("says a changed logging section takes a restart (its loggers and audit buffer are built at start)", async () => {
    const key = generateGatewayKey();
    const { configPath } = await startServe([hashGatewayKey(key)]);
    writeFileSync(configPath, configYaml(simulator!.url, [hashGatewayKey(key)], "{ auditBufferBytes: 0 }"));
    gateway!.child.kill("SIGHUP");
    const partial = await gateway!.waitFor(/^.*"event":"config_reload_partial".*$/);
    expect(JSON.parse(partial[0]) as unknown).toMatchObject({ fields: ["logging"] });
  });

  it("refuses a bad new file, logs why, and keeps the old configuration in force", async () => {
    const key = generateGatewayKey();
    const { url, configPath } = await startServe([hashGatewayKey(key)]);
    writeFileSync(configPath, "tenants: [ { id: acme, keys: [] } ]\n");
    gateway!.child.kill("SIGHUP");
    const refused = await gateway!.waitFor(/"event":"config_reload_failed".*/);
    expect(refused[0]).toContain("tenants[0].keys");
    expect(await balance(url, key)).toBe(200);
  });
});

describe("graceful shutdown on SIGTERM", () => {
  it("finishes a request that is in flight, then exits 0", async () => {
    const key = generateGatewayKey();
    const { url } = await startServe([hashGatewayKey(key)]);
    simulator!.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "delay", ms: 600 } });
    const inFlight = fetch(`${url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: '{"input":{"prompt":"slow one"}}',
    });
    await new Promise((r) => setTimeout(r, 150));
    gateway!.child.kill("SIGTERM");
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: { taskId: string } }).data.taskId).toMatch(/^[0-9a-f]{32}$/);
    expect(await gateway!.exited()).toBe(0);
  });

  it("writes every audit line the buffer still held before it exits", async () => {
    const key = generateGatewayKey();
    // A minute between timed flushes and a buffer far above five lines: only the exit can write them.
    const { url } = await startServe(
      [hashGatewayKey(key)],
      "{ auditBufferBytes: 65536, auditFlushMs: 60000 }",
    );
    const ids = ["held-1", "held-2", "held-3", "held-4", "held-5"];
    for (const id of ids) expect(await balance(url, key, id)).toBe(200);
    expect(auditLines(gateway!)).toEqual([]);
    gateway!.child.kill("SIGTERM");
    expect(await gateway!.exited()).toBe(0);
    const written = auditLines(gateway!).map((l) => (JSON.parse(l) as { requestId: string }).requestId);
    expect(written).toEqual(ids);
  });

  it("writes the buffered audit lines on its timer, without waiting for the buffer to fill", async () => {
    const key = generateGatewayKey();
    const { url } = await startServe([hashGatewayKey(key)], "{ auditBufferBytes: 65536, auditFlushMs: 50 }");
    expect(await balance(url, key, "timed-1")).toBe(200);
    await gateway!.waitFor(/"log":"audit".*"requestId":"timed-1"/);
    expect(gateway!.child.exitCode).toBeNull();
  });

  it("writes each audit line at once with auditBufferBytes 0", async () => {
    const key = generateGatewayKey();
    // auditFlushMs far beyond the wait: a line that shows up was not held in a buffer.
    const { url } = await startServe([hashGatewayKey(key)], "{ auditBufferBytes: 0, auditFlushMs: 60000 }");
    expect(await balance(url, key, "direct-1")).toBe(200);
    await gateway!.waitFor(/"log":"audit".*"requestId":"direct-1"/, 5_000);
  });

  it("refuses to start on an invalid file, listing every problem, with exit code 1", async () => {
    const configPath = join(mkdtempSync(join(tmpdir(), "agw-")), "gateway.yaml");
    writeFileSync(configPath, "server: { port: 99999 }\ntenants: []\n");
    gateway = spawnCli(["serve", "--config", configPath]);
    expect(await gateway.exited()).toBe(1);
    const stderr = gateway.stderr.join("");
    expect(stderr).toContain("server.port");
    expect(stderr).toContain("upstream");
    expect(stderr).toContain("tenants");
  });
});
