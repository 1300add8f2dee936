import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { Transport, type Exchange } from "../../src/upstream/transport.js";
import { UpstreamError } from "../../src/upstream/upstreamError.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcpProxy.js";

/** What the upstream server saw of one request. */
interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

const servers: Server[] = [];
const agents: Agent[] = [];
const proxies: TcpProxy[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const proxy of proxies.splice(0)) await proxy.close();
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

/** An upstream that records each request and answers with `answer`. */
async function upstream(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; port: number; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  server.on("connection", () => (connections += 1));
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, seen, connections: () => connections };
}

function transport(baseUrl: string, options: { idleMs?: number } = {}, maxAnswerBytes = 1 << 20) {
  // As upstreamParts.ts builds it: the agent's `timeout` closes idle pooled sockets.
  const agent = new Agent({ keepAlive: true, timeout: options.idleMs ?? 60_000 });
  agents.push(agent);
  return new Transport({ baseUrl, agent, connectTimeoutMs: 1_000, maxAnswerBytes, clock: systemClock });
}

const submit = (body: Buffer, headers: Record<string, string> = {}): Exchange => ({
  method: "POST",
  path: "/api/v1/generateTask/m",
  query: "",
  headers: { authorization: "Bearer sk-upstream", "x-request-id": "req-1", ...headers },
  body,
  timeoutMs: 2_000,
});

describe("the transport to APIXO", () => {
  it("sends exactly what it is given, under the base URL's path, to the target host", async () => {
    const api = await upstream((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok" : 1}'),
    );
    const body = Buffer.from('{ "input" :{"prompt":"caf\\u00e9"} }');
    const answer = await transport(`${api.url}/apixo/`).exchange(submit(body));
    const seen = api.seen[0];
    expect(seen?.url).toBe("/apixo/api/v1/generateTask/m");
    expect(seen?.method).toBe("POST");
    expect(seen?.headers.host).toBe(new URL(api.url).host);
    expect(seen?.headers.authorization).toBe("Bearer sk-upstream");
    expect(seen?.headers["content-length"]).toBe(String(body.length));
    expect(seen?.body.equals(body)).toBe(true);
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('{"ok" : 1}');
  });

  it("sends a GET with no body at all, and the query it was given", async () => {
    const api = await upstream((_req, res) => res.end("{}"));
    await transport(api.url).exchange({
      method: "GET",
      path: "/api/v1/statusTask/m",
      query: "taskId=a%20b",
      headers: {},
      body: undefined,
      timeoutMs: 2_000,
    });
    expect(api.seen[0]).toMatchObject({ method: "GET", url: "/api/v1/statusTask/m?taskId=a%20b" });
    expect(api.seen[0]?.body.length).toBe(0);
    expect(api.seen[0]?.headers["transfer-encoding"]).toBeUndefined();
  });

  it("refuses an answer larger than it may hold in memory", async () => {
    const api = await upstream((_req, res) => res.end("x".repeat(5_000)));
    const failure = await transport(api.url, {}, 1_000)
      .exchange(submit(Buffer.from("{}")))
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).reason).toBe("bad_response");
  });

  it("never reuses a pooled connection idle past its timeout, so a middlebox that dropped it costs nothing", async () => {
    const api = await upstream((_req, res) => res.end("{}"));
    // A load balancer that forgets an idle connection after 300 ms without telling the client (no FIN): the
    // next bytes on it get a reset, which for a submit would be an unknown outcome.
    const proxy = await startTcpProxy(api.port, "http", { forgetIdleAfterMs: 300 });
    proxies.push(proxy);
    const pooled = transport(proxy.url, { idleMs: 150 });
    const stale = transport(proxy.url);
    for (const t of [pooled, stale]) expect((await t.exchange(submit(Buffer.from("{}")))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await pooled.exchange(submit(Buffer.from("{}")))).status).toBe(200);
    // Without an idle timeout the same wait ends on a dead connection (what the gateway did before).
    const failure = await stale.exchange(submit(Buffer.from("{}"))).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).neverSent).toBe(false);
  });

  it("closes an idle connection sooner when the upstream's Keep-Alive hint asks for it", async () => {
    const api = await upstream((_req, res) => res.writeHead(200, { "keep-alive": "timeout=1" }).end("{}"));
    const t = transport(api.url, { idleMs: 60_000 });
    await t.exchange(submit(Buffer.from("{}")));
    // Node's agent keeps it for the hint minus a second: here not at all, so the next call opens a new one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await t.exchange(submit(Buffer.from("{}")));
    expect(api.connections()).toBe(2);
  });
});
