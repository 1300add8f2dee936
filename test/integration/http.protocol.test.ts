import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { sendOverSocket, type SocketAnswer } from "../helpers/rawHttp.js";

const SUBMIT_BODY = '{"input":{"prompt":"a cat"}}';

interface Envelope {
  code: number;
  message: string;
  data: null;
  error: { type: string; requestId: string; retryable: boolean };
}

function envelopeOf(answer: SocketAnswer): Envelope {
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  const envelope = JSON.parse(answer.body) as Envelope;
  expect(envelope.code).toBe(answer.status);
  expect(envelope.data).toBeNull();
  expect(envelope.error.requestId).toBe(answer.headers["x-request-id"]);
  return envelope;
}

async function spendAndInFlight(h: Harness): Promise<[number, number]> {
  const snapshot = await h.gateway.store.snapshot("acme", new Date().toISOString().slice(0, 10));
  return [snapshot.spentMicros, snapshot.inFlight];
}

function submitHead(h: Harness, extra: string): string {
  return (
    "POST /api/v1/generateTask/nano-banana HTTP/1.1\r\nHost: gw\r\n" +
    `Authorization: ${h.auth("acme").authorization}\r\nContent-Type: application/json\r\n${extra}\r\n`
  );
}

describe("every answer the gateway writes is in the envelope, Node's parser errors included", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ redisUrl: inject("redisUrl"), tenants: [{ id: "acme", dailyCapUsd: 5 }] });
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers oversized headers with 431, a complete HTTP/1.1 answer that closes the connection", async () => {
    const answer = await sendOverSocket(h.url, [
      `GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    ]);
    expect(answer.status).toBe(431);
    expect(answer.headers.connection).toBe("close");
    expect(answer.closedByServer).toBe(true);
    const envelope = envelopeOf(answer);
    expect(envelope.error.type).toBe("INVALID_REQUEST");
    expect(envelope.message).toMatch(/headers are larger than the gateway accepts \(16384 bytes/);
    // No request could be read, so no audit line: one info line says what was refused.
    const logged = h.logs.records().filter((r) => r.event === "protocol_error");
    expect(logged).toEqual([
      expect.objectContaining({ level: 30, code: "HPE_HEADER_OVERFLOW", status: 431 }),
    ]);
    expect(h.logs.records().filter((r) => r.log === "audit" && r.status === 431)).toEqual([]);
  });

  it("answers framing errors with 400 naming the problem, never echoing the bytes", async () => {
    for (const [what, request, reason] of [
      ["a bad chunk size", `${submitHead(h, "Transfer-Encoding: chunked\r\n")}zz\r\n`, /chunk size/],
      [
        "Content-Length with chunked",
        `${submitHead(h, "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")}0\r\n\r\n`,
        /both Content-Length and Transfer-Encoding/,
      ],
      [
        "two Content-Lengths",
        `${submitHead(h, "Content-Length: 2\r\nContent-Length: 3\r\n")}{}`,
        /more than one Content-Length/,
      ],
      [
        "a NUL in a header",
        "GET /healthz HTTP/1.1\r\nHost: gw\r\nX-A: a\0secret\r\n\r\n",
        /control character/,
      ],
    ] as const) {
      const answer = await sendOverSocket(h.url, [request]);
      expect(answer.status, what).toBe(400);
      expect(answer.headers.connection, what).toBe("close");
      const envelope = envelopeOf(answer);
      expect(envelope.message, what).toMatch(reason);
      expect(answer.text, what).not.toContain("secret");
    }
    expect(h.simulator.stats.count()).toBe(0);
    expect(await spendAndInFlight(h)).toEqual([0, 0]);
  });

  it("answers a request without Host, or with two, with 400 in the envelope (RFC 9112 section 3.2)", async () => {
    for (const [request, reason] of [
      ["GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", /must carry a Host header/],
      ["GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", /more than one Host/],
      ["GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n", /not a valid host/],
    ] as const) {
      const answer = await sendOverSocket(h.url, [request]);
      expect(answer.status, request).toBe(400);
      expect(envelopeOf(answer).message).toMatch(reason);
    }
    // HTTP/1.0 has no Host requirement.
    const old = await sendOverSocket(h.url, ["GET /healthz HTTP/1.0\r\n\r\n"]);
    expect(old.status).toBe(200);
  });

  it("answers an Expect it cannot meet with 417, and CONNECT with 404, both in the envelope", async () => {
    const expectation = await sendOverSocket(h.url, [
      `${submitHead(h, "Expect: teapot\r\nContent-Length: 2\r\nConnection: close\r\n")}{}`,
    ]);
    expect(expectation.status).toBe(417);
    expect(envelopeOf(expectation).message).toMatch(/100-continue/);
    const tunnel = await sendOverSocket(h.url, [
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    ]);
    expect(tunnel.status).toBe(404);
    expect(envelopeOf(tunnel).message).toMatch(/not a forward proxy/);
    expect(h.simulator.stats.count()).toBe(0);
  });

  it("answers a parse error in a body that is still arriving through the request itself: its id, its audit line", async () => {
    const answer = await sendOverSocket(h.url, [
      `${submitHead(h, "Transfer-Encoding: chunked\r\nX-Request-Id: chunky-1\r\n")}5\r\n{"inp\r\nnot-hex\r\n`,
    ]);
    expect(answer.status).toBe(400);
    expect(answer.headers["x-request-id"]).toBe("chunky-1");
    expect(envelopeOf(answer).message).toMatch(/chunk size/);
    await expect
      .poll(() => h.logs.records().find((r) => r.requestId === "chunky-1" && r.log === "audit"))
      .toMatchObject({ status: 400, errorType: "INVALID_REQUEST" });
    expect(h.simulator.stats.count()).toBe(0);
    expect(await spendAndInFlight(h)).toEqual([0, 0]);
  });
});

describe("a client that goes away mid-upload", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ redisUrl: inject("redisUrl"), tenants: [{ id: "acme", dailyCapUsd: 5 }] });
  });
  afterAll(async () => {
    await h.close();
  });

  it("is logged at info with 499, never as an internal error, and nothing is reserved or forwarded", async () => {
    for (const [id, framing, partial] of [
      ["gone-1", "Content-Length: 100\r\n", '{"input":'],
      ["gone-2", "Transfer-Encoding: chunked\r\n", '5\r\n{"inp\r\n'],
    ] as const) {
      await sendOverSocket(h.url, [`${submitHead(h, `${framing}X-Request-Id: ${id}\r\n`)}${partial}`], {
        abortAfterLast: true,
      });
      await expect
        .poll(() => h.logs.records().find((r) => r.requestId === id && r.log === "audit"))
        .toMatchObject({ status: 499 });
      const lines = h.logs.records().filter((r) => r.requestId === id);
      expect(
        lines.some((r) => r.event === "client_closed_request" && r.level === 30 && r.status === 499),
      ).toBe(true);
      expect(lines.filter((r) => Number(r.level) >= 40)).toEqual([]);
    }
    expect(h.logs.lines.join("\n")).not.toMatch(/internal error|"stack"/);
    expect(h.simulator.stats.count()).toBe(0);
    expect(await spendAndInFlight(h)).toEqual([0, 0]);
  });
});

describe("slow clients are cut by configurable timeouts", () => {
  let h: Harness;
  // Small, so the test is quick; the defaults (10 s headers, 30 s whole request) are in the config schema.
  const headersTimeoutMs = 300;
  const requestTimeoutMs = 600;
  beforeAll(async () => {
    h = await startHarness({
      redisUrl: inject("redisUrl"),
      tenants: [{ id: "acme", dailyCapUsd: 5 }],
      config: { server: { headersTimeoutMs, requestTimeoutMs } },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  /** One header byte at a time, for far longer than any timeout: the server must cut it, not the helper. */
  const slowloris = (): Promise<SocketAnswer> =>
    sendOverSocket(h.url, Array.from(submitHead(h, "Content-Length: 2\r\n")), {
      intervalMs: 40,
      timeoutMs: 15_000,
    });

  it("cuts connections whose headers dribble in, answering 408 in the envelope", async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, slowloris));
    for (const answer of answers) {
      expect(answer.closedByServer).toBe(true);
      expect(answer.status).toBe(408);
      expect(answer.headers.connection).toBe("close");
      expect(envelopeOf(answer).message).toMatch(/headers did not arrive within 300 ms/);
    }
    expect(h.simulator.stats.count()).toBe(0);
  });

  it("cuts a body that dribbles in, answering 408 through the request, and reserves nothing", async () => {
    const body = Array.from(SUBMIT_BODY);
    const answer = await sendOverSocket(
      h.url,
      [submitHead(h, `Content-Length: ${body.length}\r\nX-Request-Id: slow-body-1\r\n`), ...body],
      { intervalMs: 60, timeoutMs: 15_000 },
    );
    expect(answer.closedByServer).toBe(true);
    expect(answer.status).toBe(408);
    expect(answer.headers["x-request-id"]).toBe("slow-body-1");
    expect(envelopeOf(answer).message).toMatch(/whole request did not arrive within 600 ms/);
    await expect
      .poll(() => h.logs.records().find((r) => r.requestId === "slow-body-1" && r.log === "audit"))
      .toMatchObject({ status: 408 });
    expect(h.simulator.stats.count()).toBe(0);
    expect(await spendAndInFlight(h)).toEqual([0, 0]);
  });

  it("leaves an idle keep-alive connection alone longer than the headers timeout, and still serves it", async () => {
    const request = "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";
    const last = "GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n";
    const answer = await sendOverSocket(h.url, [request, last], {
      intervalMs: headersTimeoutMs * 3,
      timeoutMs: 10_000,
    });
    expect(answer.closedByServer).toBe(true);
    expect(answer.text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
  });

  it("still serves a good submit afterwards", async () => {
    const response = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...h.auth("acme"), "content-type": "application/json" },
      body: SUBMIT_BODY,
    });
    expect(response.status).toBe(200);
    expect(h.simulator.stats.count("generateTask")).toBe(1);
  });
});
