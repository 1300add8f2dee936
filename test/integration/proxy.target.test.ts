import { gzipSync, deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { sendRaw } from "../helpers/rawHttp.js";

/**
 * Forward only what was checked: what APIXO receives for a governed endpoint is built from the gateway's
 * decision (canonical path, canonical model, the checked taskId), and a request whose meaning could differ
 * between the gateway and APIXO is refused before anything is reserved or forwarded.
 */

const BODY = '{"input":{"prompt":"a cat"}}';

interface Envelope {
  code: number;
  message: string;
  error: { type: string };
}

let h: Harness;
let ownTask: string;
let otherTask: string;

async function submit(tenant: string, model = "nano-banana"): Promise<string> {
  const response = await fetch(`${h.url}/api/v1/generateTask/${model}`, {
    method: "POST",
    headers: { ...h.auth(tenant), "content-type": "application/json" },
    body: BODY,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { taskId: string } }).data.taskId;
}

async function spentMicros(tenant: string): Promise<number> {
  const snapshot = await h.gateway.store.snapshot(tenant, new Date().toISOString().slice(0, 10));
  return snapshot.spentMicros;
}

function envelope(body: Buffer): Envelope {
  return JSON.parse(body.toString("utf8")) as Envelope;
}

beforeAll(async () => {
  h = await startHarness({
    redisUrl: inject("redisUrl"),
    tenants: [
      { id: "acme", dailyCapUsd: 5 },
      { id: "beta", dailyCapUsd: 5 },
    ],
    // Every good poll reaches the simulator, so what it receives can be read.
    config: { upstream: { protection: { statusCache: false } } },
  });
  ownTask = await submit("acme");
  otherTask = await submit("beta");
});
afterAll(async () => {
  await h.close();
});

describe("statusTask's upstream query is exactly the checked taskId", () => {
  it("refuses every query that smuggles a second task id past the ownership check, asking APIXO nothing", async () => {
    const filler = Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join("&");
    const before = h.simulator.stats.count();
    for (const [query, reason] of [
      [`taskId=${ownTask}&${filler}&taskId=${otherTask}`, /Too many query parameters/],
      [`taskId=${ownTask}&taskId=${otherTask}`, /given 2 times/],
      [`taskId=${ownTask}&TaskId=${otherTask}`, /case-sensitive/],
      [`taskId=${ownTask}&taskId[]=${otherTask}`, /Bracketed/],
      [`taskId=${ownTask}&amp;taskId=${otherTask}`, /';'/],
      [`taskId=${ownTask};taskId=${otherTask}`, /';'/],
      [`taskId=${ownTask}%26taskId%3D${otherTask}`, /encoded separator/],
      [`taskId=${ownTask}&cb=1`, /only the taskId parameter/],
    ] as const) {
      const answer = await sendRaw(h.url, `/api/v1/statusTask/nano-banana?${query}`, {
        headers: h.auth("acme"),
      });
      expect(answer.status, query.slice(0, 80)).toBe(400);
      expect(envelope(answer.body).error.type).toBe("INVALID_REQUEST");
      expect(envelope(answer.body).message).toMatch(reason);
    }
    expect(h.simulator.stats.count()).toBe(before);
  });

  it("forwards the checked taskId re-encoded, nothing else, whatever escapes the client used", async () => {
    // The first character %-escaped: the same id, so the same task.
    const escaped = `%${ownTask.charCodeAt(0).toString(16)}${ownTask.slice(1)}`;
    const answer = await sendRaw(h.url, `/api/v1/statusTask/nano-banana?taskId=${escaped}`, {
      headers: h.auth("acme"),
    });
    expect(answer.status).toBe(200);
    expect(h.simulator.stats.requests.at(-1)?.path).toBe(`/api/v1/statusTask/nano-banana?taskId=${ownTask}`);
  });
});

describe("governed endpoints are forwarded under APIXO's canonical path", () => {
  it("sends a model alias under the canonical model id the gateway priced", async () => {
    await submit("acme", "flux-2");
    expect(h.simulator.stats.requests.at(-1)?.path).toBe("/api/v1/generateTask/flux2");
  });

  it("takes an absolute-form target by its path and sends APIXO the canonical one", async () => {
    const answer = await sendRaw(h.url, "http://elsewhere.example/api/v1/apikeys/current-balance", {
      headers: h.auth("acme"),
    });
    expect(answer.status).toBe(200);
    expect(h.simulator.stats.requests.at(-1)?.path).toBe("/api/v1/apikeys/current-balance");
  });

  it("refuses a query on current-balance and generateTask, which take none, instead of dropping it", async () => {
    const before = h.simulator.stats.count();
    const spent = await spentMicros("acme");
    const balance = await sendRaw(h.url, "/api/v1/apikeys/current-balance?nocache=1", {
      headers: h.auth("acme"),
    });
    expect(balance.status).toBe(400);
    expect(envelope(balance.body).message).toMatch(/current-balance takes no query parameters/);
    const submitted = await sendRaw(h.url, "/api/v1/generateTask/nano-banana?provider=official", {
      headers: { ...h.auth("acme"), "content-type": "application/json" },
      body: BODY,
    });
    expect(submitted.status).toBe(400);
    expect(envelope(submitted.body).message).toMatch(/generateTask takes no query parameters/);
    expect(h.simulator.stats.count()).toBe(before);
    expect(await spentMicros("acme")).toBe(spent);
  });

  it("refuses odd spellings and encoded separators before authenticating, reserving or forwarding", async () => {
    const before = h.simulator.stats.count();
    const spent = await spentMicros("acme");
    for (const path of [
      "/api/v1/GenerateTask/nano-banana",
      "/api/v1/generateTask/nano%2Dbanana",
      "/api/v1/generateTask/nano-banana/",
      "/api/v1/generateTask/..%2Fnano-banana",
      "/api/v1/generateTask/%5Cnano-banana",
      "/api/v1/generateTask/NANO-BANANA",
    ]) {
      const answer = await sendRaw(h.url, path, {
        headers: { ...h.auth("acme"), "content-type": "application/json" },
        body: BODY,
      });
      expect(answer.status, path).toBe(400);
      expect(envelope(answer.body).error.type, path).toBe("INVALID_REQUEST");
    }
    expect(h.simulator.stats.count()).toBe(before);
    expect(await spentMicros("acme")).toBe(spent);
  });
});

describe("a submit body is UTF-8 JSON text, and what is validated is what is forwarded", () => {
  const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
    sendRaw(h.url, "/api/v1/generateTask/nano-banana", {
      headers: { ...h.auth("acme"), "content-type": "application/json", ...headers },
      body,
    });

  it("refuses invalid UTF-8, a byte order mark and duplicate members with 400, charging and forwarding nothing", async () => {
    const before = h.simulator.stats.count();
    const spent = await spentMicros("acme");
    const prompt = (bytes: number[]): Buffer =>
      Buffer.concat([Buffer.from('{"input":{"prompt":"a'), Buffer.from(bytes), Buffer.from('"}}')]);
    for (const [what, body, reason] of [
      ["bad continuation", prompt([0xc3, 0x28]), /not UTF-8/],
      ["overlong", prompt([0xc0, 0xaf]), /not UTF-8/],
      ["surrogate", prompt([0xed, 0xa0, 0x80]), /not UTF-8/],
      ["truncated", prompt([0xe2, 0x82]), /not UTF-8/],
      ["Latin-1", Buffer.from('{"input":{"prompt":"caf\xe9"}}', "latin1"), /not UTF-8/],
      ["BOM", Buffer.from(`\uFEFF${BODY}`), /byte order mark/],
      ["duplicate input", Buffer.from('{"input":{"prompt":"a"},"input":{"prompt":"b"}}'), /"input" twice/],
    ] as const) {
      const answer = await post(body);
      expect(answer.status, what).toBe(400);
      expect(envelope(answer.body).message, what).toMatch(reason);
    }
    expect(h.simulator.stats.count()).toBe(before);
    expect(await spentMicros("acme")).toBe(spent);
  });

  it("refuses a Content-Encoding with 415, plain or really compressed, without echoing binary bytes", async () => {
    const before = h.simulator.stats.count();
    for (const [encoding, body] of [
      ["gzip", gzipSync(BODY)],
      ["gzip", Buffer.from(BODY)],
      ["deflate", deflateSync(BODY)],
      ["br", Buffer.from(BODY)],
      ["GZIP, identity", gzipSync(BODY)],
    ] as const) {
      const answer = await post(body, { "content-encoding": encoding });
      expect(answer.status, encoding).toBe(415);
      const text = answer.body.toString("utf8");
      expect(envelope(answer.body).error.type).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(text).toMatch(/send the JSON uncompressed/);
      expect(text).toMatch(/^[\x20-\x7e]*$/);
    }
    expect(h.simulator.stats.count()).toBe(before);
  });

  it("accepts Content-Encoding: identity (no encoding) and forwards the very bytes it validated", async () => {
    const body = Buffer.from('{ "input" : {"prompt":"caf\u00e9 \u{1F408}"} }');
    const answer = await post(body, { "content-encoding": "identity" });
    expect(answer.status).toBe(200);
    expect(h.simulator.stats.requests.at(-1)?.body.equals(body)).toBe(true);
  });
});
