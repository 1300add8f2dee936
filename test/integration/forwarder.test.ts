import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import {
  Forwarder,
  originForm,
  type ForwardOptions,
  type UpstreamAnswer,
} from "../../src/upstream/transport.js";
import type { UpstreamTarget } from "../../src/http/governedRoutes.js";
import { UpstreamError } from "../../src/upstream/upstreamError.js";
import { sendRaw } from "../helpers/rawHttp.js";

/** What the upstream server saw of one request. */
interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
  readonly complete: boolean;
}

const servers: Server[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => {
            done();
          });
        }),
    ),
  );
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An upstream that records each request and answers with `answer`. */
async function upstream(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: Promise<Seen>[] }> {
  const seen: Promise<Seen>[] = [];
  const url = await listen((req, res) => {
    const chunks: Buffer[] = [];
    let record!: (s: Seen) => void;
    seen.push(new Promise((r) => (record = r)));
    const done = (): void => {
      record({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks),
        complete: req.complete,
      });
    };
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => {
      done();
      answer(req, res);
    });
    req.once("aborted", done);
  });
  return { url, seen };
}

function forwarder(baseUrl: string, overrides: { maxAnswerBytes?: number } = {}): Forwarder {
  const agent = new Agent({ keepAlive: true });
  agents.push(agent);
  return new Forwarder({
    baseUrl,
    agent,
    timeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    maxAnswerBytes: overrides.maxAnswerBytes ?? 1 << 20,
    clock: systemClock,
  });
}

/** A front server whose handler forwards every request and reports the outcome. */
async function front(
  fwd: Forwarder,
  mode: "exchange" | "stream",
  options: ForwardOptions,
): Promise<{ url: string; outcome: Promise<UpstreamAnswer | number | UpstreamError> }> {
  let report!: (o: UpstreamAnswer | number | UpstreamError) => void;
  const outcome = new Promise<UpstreamAnswer | number | UpstreamError>((r) => (report = r));
  const url = await listen((req, res) => {
    const sent =
      mode === "exchange"
        ? fwd.exchange(req, res, { target: clientTarget(req), ...options })
        : fwd.stream(req, res, options);
    sent.then(
      (answer) => {
        report(answer);
        if (mode === "exchange") res.end("forwarded");
      },
      (err: unknown) => {
        report(err as UpstreamError);
        if (!res.headersSent) res.writeHead(502).end();
      },
    );
  });
  return { url, outcome };
}

/** The front server's decision, for tests that are not about it: the client's own path and query. */
function clientTarget(req: IncomingMessage): UpstreamTarget {
  const [path = "/", query = ""] = (req.url ?? "/").split("?", 2);
  return { path, query };
}

/** A request to the front server, as text: the forwarder's tests read small answers. */
async function send(
  url: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingMessage["headers"]; body: string }> {
  const answer = await sendRaw(url, path, { headers, ...(body === undefined ? {} : { body }) });
  return { ...answer, body: answer.body.toString() };
}

describe("the forwarder", () => {
  it("sends the exact bytes to the decided target under the base URL's path, with the upstream key, target host and no client credentials", async () => {
    const api = await upstream((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok" : 1}'),
    );
    const body = Buffer.from('{ "input" :{"prompt":"caf\\u00e9"} }');
    const { url, outcome } = await front(forwarder(`${api.url}/apixo/`), "exchange", {
      upstreamKey: "sk-upstream",
      requestId: "req-1",
      body,
      target: { path: "/api/v1/generateTask/m", query: "" },
    });
    await send(
      url,
      "/api/v1/GenerateTask/M/?x=1",
      {
        authorization: "Bearer agw_client",
        cookie: "session=1",
        connection: "keep-alive, x-hop",
        "x-hop": "drop me",
        "accept-encoding": "gzip",
        "x-custom": "kept",
      },
      "ignored: the forwarder sends options.body",
    );
    const seen = await api.seen[0];
    expect(seen?.url).toBe("/apixo/api/v1/generateTask/m");
    expect(seen?.method).toBe("POST");
    expect(seen?.headers.host).toBe(new URL(api.url).host);
    expect(seen?.headers.authorization).toBe("Bearer sk-upstream");
    expect(seen?.headers["x-request-id"]).toBe("req-1");
    expect(seen?.headers["accept-encoding"]).toBe("identity");
    expect(seen?.headers["x-custom"]).toBe("kept");
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers["x-hop"]).toBeUndefined();
    expect(seen?.body.equals(body)).toBe(true);
    const answer = (await outcome) as UpstreamAnswer;
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('{"ok" : 1}');
  });

  it("streams the client's body and APIXO's answer through, keeping the client's accept-encoding", async () => {
    const api = await upstream((_req, res) =>
      res.writeHead(201, { "x-up": "1", "set-cookie": "a=b" }).end("streamed"),
    );
    const { url } = await front(forwarder(api.url), "stream", {
      upstreamKey: "sk-upstream",
      requestId: "req-2",
      responseHeaders: { "x-gateway": "yes" },
    });
    const response = await send(url, "/api/v1/files", { "accept-encoding": "gzip" }, "client bytes");
    const seen = await api.seen[0];
    expect(seen?.body.toString()).toBe("client bytes");
    expect(seen?.headers["accept-encoding"]).toBe("gzip");
    expect(response).toMatchObject({ status: 201, body: "streamed" });
    expect(response.headers["x-up"]).toBe("1");
    expect(response.headers["x-gateway"]).toBe("yes");
    expect(response.headers["set-cookie"]).toBeUndefined();
  });

  it("abandons the upstream request when the client goes away mid-body", async () => {
    const api = await upstream((_req, res) => res.end("never"));
    const { url, outcome } = await front(forwarder(api.url), "stream", {
      upstreamKey: "sk-upstream",
      requestId: "req-3",
    });
    const req = request(`${url}/api/v1/upload`, {
      method: "POST",
      headers: { "content-length": "1000" },
    });
    req.on("error", () => undefined);
    req.write("only part of the body");
    const seen = api.seen;
    await expect.poll(() => seen.length).toBe(1);
    req.destroy();
    expect((await seen[0])?.complete).toBe(false);
    expect(await outcome).toBeInstanceOf(UpstreamError);
  });

  it("asks APIXO for an allowed path's path and query only, whatever request target the client used", async () => {
    const api = await upstream((_req, res) => res.end("{}"));
    const { url } = await front(forwarder(`${api.url}/apixo`), "stream", {
      upstreamKey: "sk-upstream",
      requestId: "req-5",
    });
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    socket.write("GET http://evil.example/api/v1/statusTask/m?taskId=t#frag HTTP/1.1\r\nHost: x\r\n\r\n");
    await expect.poll(() => api.seen.length).toBe(1);
    const seen = await api.seen[0];
    socket.destroy();
    expect(seen?.url).toBe("/apixo/api/v1/statusTask/m?taskId=t");
    expect(seen?.headers.host).toBe(new URL(api.url).host);
    expect(originForm("/a?b=1#c")).toBe("/a?b=1");
    expect(originForm("/a/b")).toBe("/a/b");
  });

  it("never writes a governed GET's body onto the pooled upstream connection", async () => {
    const api = await upstream((_req, res) => res.end("{}"));
    const fwd = forwarder(api.url);
    const { url } = await front(fwd, "exchange", { upstreamKey: "sk-upstream", requestId: "req-6" });
    const smuggled = "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
    await send(url, "/api/v1/statusTask/m?taskId=1", { "transfer-encoding": "chunked" }, smuggled).catch(
      () => undefined,
    );
    await send(url, "/api/v1/statusTask/m?taskId=2", {});
    const seen = await Promise.all(api.seen);
    expect(seen.map((s) => s.url)).toEqual([
      "/api/v1/statusTask/m?taskId=1",
      "/api/v1/statusTask/m?taskId=2",
    ]);
    expect(seen.map((s) => s.body.length)).toEqual([0, 0]);
  });

  it("frames a streamed chunked body again upstream, whatever the method", async () => {
    const api = await upstream((_req, res) => res.end("ok"));
    const { url } = await front(forwarder(api.url), "stream", {
      upstreamKey: "sk-upstream",
      requestId: "req-7",
    });
    const response = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/api/v1/files`,
        { method: "GET", headers: { "transfer-encoding": "chunked" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once("error", reject);
      req.write("part one, ");
      req.end("part two");
    });
    expect(response).toBe(200);
    const seen = await api.seen[0];
    expect(seen?.body.toString()).toBe("part one, part two");
    expect(seen?.headers["transfer-encoding"]).toBe("chunked");
  });

  it("refuses an answer larger than it may hold in memory", async () => {
    const api = await upstream((_req, res) => res.end("x".repeat(5_000)));
    const { url, outcome } = await front(forwarder(api.url, { maxAnswerBytes: 1_000 }), "exchange", {
      upstreamKey: "sk-upstream",
      requestId: "req-4",
    });
    await send(url, "/api/v1/statusTask/m?taskId=t", {});
    const failure = await outcome;
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).reason).toBe("bad_response");
  });
});
