import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";

let harness: Harness | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const server of servers.splice(0)) await new Promise((r) => server.close(r));
});

interface Envelope {
  code: number;
  message: string;
  data: null;
  error: { type: string; requestId: string; retryable: boolean };
}

async function submit(h: Harness, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
    method: "POST",
    headers: { ...h.auth("acme"), "content-type": "application/json", ...headers },
    body,
  });
  return { response, envelope: (await response.json()) as Envelope };
}

function expectEnvelope(status: number, type: string, response: Response, envelope: Envelope): void {
  expect(response.status).toBe(status);
  expect(envelope.code).toBe(status);
  expect(envelope.data).toBeNull();
  expect(envelope.error.type).toBe(type);
  expect(envelope.error.requestId).toBe(response.headers.get("x-request-id"));
  expect(envelope.message.length).toBeGreaterThan(10);
}

describe("upstream faults become the gateway's envelope", () => {
  it("answers 502 UPSTREAM_UNAVAILABLE with the request id when APIXO cannot be reached", async () => {
    const deadPort = await freePort();
    harness = await startHarness({ config: { upstream: { baseUrl: `http://127.0.0.1:${deadPort}` } } });
    const { response, envelope } = await submit(harness, '{"input":{"prompt":"p"}}');
    expectEnvelope(502, "UPSTREAM_UNAVAILABLE", response, envelope);
    expect(envelope.error.retryable).toBe(true);
  });

  it("answers 502 when APIXO resets the connection", async () => {
    harness = await startHarness();
    harness.simulator.faults.add({ endpoint: "generateTask", action: { kind: "reset" } });
    const { response, envelope } = await submit(harness, '{"input":{"prompt":"p"}}');
    expectEnvelope(502, "UPSTREAM_UNAVAILABLE", response, envelope);
  });

  it("answers 504 UPSTREAM_TIMEOUT when APIXO is slower than the timeout", async () => {
    harness = await startHarness({ config: { upstream: { timeoutMs: 300 } } });
    harness.simulator.faults.add({ endpoint: "generateTask", action: { kind: "hang" } });
    const { response, envelope } = await submit(harness, '{"input":{"prompt":"p"}}');
    expectEnvelope(504, "UPSTREAM_TIMEOUT", response, envelope);
  });

  it("answers 502 when APIXO's submit answer is garbage, since the task id must be read", async () => {
    harness = await startHarness();
    harness.simulator.faults.add({ endpoint: "generateTask", action: { kind: "garbage" } });
    const { response, envelope } = await submit(harness, '{"input":{"prompt":"p"}}');
    expectEnvelope(502, "UPSTREAM_UNAVAILABLE", response, envelope);
  });

  it("answers 502 when a listener accepts and closes without answering", async () => {
    const port = await freePort();
    const server = createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    harness = await startHarness({ config: { upstream: { baseUrl: `http://127.0.0.1:${port}` } } });
    const { response, envelope } = await submit(harness, '{"input":{"prompt":"p"}}');
    expectEnvelope(502, "UPSTREAM_UNAVAILABLE", response, envelope);
  });

  it("passes APIXO's own errors through unchanged", async () => {
    harness = await startHarness();
    const body = '{"code":500,"message":"upstream exploded","data":null}';
    harness.simulator.faults.add({
      endpoint: "generateTask",
      times: 1,
      action: { kind: "status", status: 500, body },
    });
    const response = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body: '{"input":{"prompt":"p"}}',
    });
    expect(response.status).toBe(500);
    expect(await response.text()).toBe(body);
  });
});

describe("bad requests get a clear error before anything reaches APIXO", () => {
  it("refuses a body over the limit with 413", async () => {
    harness = await startHarness({ config: { server: { bodyLimitBytes: 1024 } } });
    const big = JSON.stringify({ input: { prompt: "x".repeat(2000) } });
    const { response, envelope } = await submit(harness, big);
    expectEnvelope(413, "PAYLOAD_TOO_LARGE", response, envelope);
    expect(envelope.message).toContain("1024 bytes");
    expect(harness.simulator.stats.count()).toBe(0);
  });

  it("refuses a chunked body that grows over the limit with 413", async () => {
    harness = await startHarness({ config: { server: { bodyLimitBytes: 1024 } } });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("x".repeat(500)));
        controller.close();
      },
    });
    const response = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body: stream,
      duplex: "half",
    });
    expect(response.status).toBe(413);
    expect(harness.simulator.stats.count()).toBe(0);
  });

  it("refuses a body that is not JSON with 400 and says so", async () => {
    harness = await startHarness();
    const { response, envelope } = await submit(harness, "{input: nope");
    expectEnvelope(400, "INVALID_REQUEST", response, envelope);
    expect(envelope.message).toMatch(/not valid JSON/);
    expect(harness.simulator.stats.count()).toBe(0);
  });

  it("refuses a JSON body without an input object with 400 naming the field", async () => {
    harness = await startHarness();
    const { response, envelope } = await submit(harness, '["input"]');
    expectEnvelope(400, "INVALID_REQUEST", response, envelope);
    expect(envelope.message).toMatch(/input/);
  });

  it("answers 404 NOT_FOUND in the envelope for paths the gateway does not proxy", async () => {
    harness = await startHarness();
    for (const path of ["/api/mcp/admin", "/api/v1/unknown", "/", "/api/v1/generateTask"]) {
      const response = await fetch(`${harness.url}${path}`, { headers: harness.auth("acme") });
      const envelope = (await response.json()) as Envelope;
      expectEnvelope(404, "NOT_FOUND", response, envelope);
    }
    expect(harness.simulator.stats.count()).toBe(0);
  });

  it("answers 400 when statusTask has no taskId", async () => {
    harness = await startHarness();
    const response = await fetch(`${harness.url}/api/v1/statusTask/nano-banana`, {
      headers: harness.auth("acme"),
    });
    expectEnvelope(400, "INVALID_REQUEST", response, (await response.json()) as Envelope);
  });
});
