import { Agent } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, UPSTREAM_KEY, type Harness } from "../helpers/gatewayHarness.js";
import { sendRaw, type RawResponse } from "../helpers/rawHttp.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The seed's client code (apixo-best-practices.txt), with only its base URL and key made parameters. */
async function pollWithBackoff(
  baseUrl: string,
  model: string,
  taskId: string,
  apiKey: string,
): Promise<string[]> {
  let interval = 50;
  const maxInterval = 500;
  const maxAttempts = 60;
  for (let i = 0; i < maxAttempts; i++) {
    const response = await fetch(`${baseUrl}/api/v1/statusTask/${model}?taskId=${taskId}`, {
      headers: { Authorization: `Bearer ${apiKey}` },
    });
    const { data } = (await response.json()) as {
      data: { state: string; resultJson: string; failMsg: string };
    };
    if (data.state === "success") {
      return (JSON.parse(data.resultJson) as { resultUrls: string[] }).resultUrls;
    }
    if (data.state === "failed") {
      throw new Error(data.failMsg);
    }
    await new Promise((r) => setTimeout(r, interval));
    interval = Math.min(interval * 1.5, maxInterval);
  }
  throw new Error("Timeout");
}

describe("a drop-in base URL", () => {
  it("lets the seed's polling client complete a task with only the base URL and key changed", async () => {
    harness = await startHarness({ simulator: { pendingMs: 30, processingMs: 60 } });
    const key = harness.keys.acme!;
    const submit = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        request_type: "async",
        input: { mode: "text-to-image", prompt: "a lighthouse" },
      }),
    });
    expect(submit.status).toBe(200);
    const { data } = (await submit.json()) as { data: { taskId: string } };

    const urls = await pollWithBackoff(harness.url, "nano-banana", data.taskId, key);
    expect(urls).toHaveLength(1);
    expect(urls[0]).toContain(data.taskId);
  });

  it("sends the tenant's upstream key to APIXO and never shows it to the client", async () => {
    harness = await startHarness();
    const key = harness.keys.acme!;
    const responses: RawResponse[] = [];
    const submit = await sendRaw(harness.url, `/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: Buffer.from('{"input":{"prompt":"p"}}'),
    });
    responses.push(submit);
    const taskId = (JSON.parse(submit.body.toString()) as { data: { taskId: string } }).data.taskId;
    responses.push(
      await sendRaw(harness.url, `/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
        method: "GET",
        headers: { authorization: `Bearer ${key}` },
      }),
    );
    responses.push(
      await sendRaw(harness.url, `/api/v1/apikeys/current-balance`, {
        method: "GET",
        headers: { authorization: `Bearer ${key}` },
      }),
    );

    const seen = harness.simulator.stats.requests;
    expect(seen).toHaveLength(3);
    for (const upstream of seen) expect(upstream.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.body.toString()).not.toContain(UPSTREAM_KEY);
      expect(JSON.stringify(response.headers)).not.toContain(UPSTREAM_KEY);
      expect(JSON.stringify(response.headers)).not.toContain(key);
    }
  });

  it("refuses other spellings of the governed endpoints (escaped model, other case, trailing slash) before anything is governed", async () => {
    harness = await startHarness();
    const headers = harness.auth("acme");
    for (const [method, url, reason] of [
      ["POST", "/api/v1/generateTask/no%2Dsuch%2Dmodel", /%-escapes/],
      ["POST", "/api/v1/generateTask/nano-banana/", /ends with a slash/],
      ["GET", "/API/v1/statusTask/nano-banana?taskId=someone-elses", /case-sensitive/],
      ["GET", "/api/v1/apikeys/current-balance/", /ends with a slash/],
    ] as const) {
      for (const auth of [{}, headers]) {
        const answer = await sendRaw(harness.url, url, {
          method,
          headers: { ...auth, "content-type": "application/json" },
          ...(method === "POST" ? { body: '{"input":{"prompt":"p"}}' } : {}),
        });
        const envelope = JSON.parse(answer.body.toString()) as { message: string; error: { type: string } };
        expect(answer.status, `${method} ${url}`).toBe(400);
        expect(envelope.error.type).toBe("INVALID_REQUEST");
        expect(envelope.message).toMatch(reason);
        expect(envelope.message).toContain("APIXO's spelling only");
      }
    }
    expect(harness.simulator.stats.requests).toHaveLength(0);
  });

  it("forwards request bodies byte for byte: whitespace and key order preserved", async () => {
    harness = await startHarness();
    const body = Buffer.from(
      '{ "input" : {"zeta": [3, 1,2], "prompt":"two  spaces\\u00e9",\n"mode":"text-to-image"},\t"request_type":"async" }',
    );
    const response = await sendRaw(harness.url, `/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(200);
    const upstream = harness.simulator.stats.requests.find((r) => r.endpoint === "generateTask");
    expect(upstream?.body.equals(body)).toBe(true);
  });

  it("returns APIXO's answer bytes unchanged to the client", async () => {
    harness = await startHarness();
    const submit = await sendRaw(harness.url, `/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body: Buffer.from('{"input":{"prompt":"p"}}'),
    });
    const taskId = (JSON.parse(submit.body.toString()) as { data: { taskId: string } }).data.taskId;
    const odd = `{"data":{"state":"processing",  "taskId":"${taskId}","extra":[1,2]},"message":"success","code":200}\n`;
    harness.simulator.faults.add({
      endpoint: "statusTask",
      times: 1,
      action: { kind: "status", status: 200, body: odd },
    });
    const status = await sendRaw(harness.url, `/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
      method: "GET",
      headers: harness.auth("acme"),
    });
    expect(status.body.toString()).toBe(odd);
  });

  it("keeps one client connection open across sequential requests and reuses upstream connections", async () => {
    harness = await startHarness();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let clientSockets = 0;
    const originalCreate = agent.createConnection.bind(agent);
    agent.createConnection = (...args: Parameters<typeof originalCreate>) => {
      clientSockets += 1;
      return originalCreate(...args);
    };
    for (let i = 0; i < 30; i++) {
      const response = await sendRaw(harness.url, `/api/v1/apikeys/current-balance`, {
        method: "GET",
        headers: harness.auth("acme"),
        agent,
      });
      expect(response.status).toBe(200);
      expect(response.headers.connection).toBe("keep-alive");
    }
    for (let i = 0; i < 30; i++) {
      const response = await sendRaw(harness.url, `/api/v1/generateTask/nano-banana`, {
        method: "POST",
        headers: { ...harness.auth("acme"), "content-type": "application/json" },
        body: Buffer.from('{"input":{"prompt":"p"}}'),
        agent,
      });
      expect(response.status).toBe(200);
    }
    agent.destroy();
    expect(clientSockets).toBe(1);
    expect(harness.simulator.stats.count("generateTask")).toBe(30);
    expect(harness.simulator.stats.connections).toBeLessThanOrEqual(2);
  });

  it("echoes a sane client request id and makes one otherwise", async () => {
    harness = await startHarness();
    const echoed = await fetch(`${harness.url}/api/v1/apikeys/current-balance`, {
      headers: { ...harness.auth("acme"), "x-request-id": "client-req-42" },
    });
    expect(echoed.headers.get("x-request-id")).toBe("client-req-42");
    expect(harness.simulator.stats.requests[0]?.headers["x-request-id"]).toBe("client-req-42");
    const replaced = await fetch(`${harness.url}/api/v1/apikeys/current-balance`, {
      headers: { ...harness.auth("acme"), "x-request-id": "bad id with spaces <script>" },
    });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
