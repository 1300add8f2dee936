import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../../src/gateway/gateway.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { UPSTREAM_KEY, buildTestConfig } from "../helpers/gatewayHarness.js";
import { sendRaw } from "../helpers/rawHttp.js";

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
  readonly complete: boolean;
}

let server: Server | undefined;
let gateway: RunningGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  gateway = undefined;
  server = undefined;
});

/** APIXO stand-in that records what reached it, and a gateway that passes /api/v1/files through to it. */
async function start(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; key: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const record = (): void => {
      seen.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks),
        complete: req.complete,
      });
    };
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => {
      record();
      answer(req, res);
    });
    req.once("aborted", record);
  });
  await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
  const upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apixo`;
  const { config, keys } = buildTestConfig(upstreamUrl, {
    config: { server: { allowedPaths: ["/api/v1/files"] }, telemetry: { balancePollSeconds: 0 } },
  });
  gateway = await startGateway({ config, logger: createLogger("silent") });
  return { url: gateway.url, key: keys.acme ?? "", seen };
}

describe("the operator's allowed paths (http-proxy-middleware)", () => {
  it("streams body and answer through with the upstream key, and none of the client's credentials, cookies or attribution headers", async () => {
    const { url, key, seen } = await start((_req, res) =>
      res.writeHead(201, { "x-up": "1", "set-cookie": "a=b", "x-request-id": "apixo-id" }).end("streamed"),
    );
    const response = await sendRaw(url, "/api/v1/files?x=1", {
      headers: {
        authorization: `Bearer ${key}`,
        cookie: "session=1",
        "accept-encoding": "gzip",
        "x-custom": "kept",
        "x-request-id": "client-req-1",
        "x-gateway-user": "ann",
        "x-gateway-feature": "search",
      },
      body: "client bytes",
      method: "POST",
    });
    const upstream = seen[0];
    expect(upstream?.url).toBe("/apixo/api/v1/files?x=1");
    expect(upstream?.body.toString()).toBe("client bytes");
    expect(upstream?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(upstream?.headers.cookie).toBeUndefined();
    expect(upstream?.headers["x-gateway-user"]).toBeUndefined();
    expect(upstream?.headers["x-gateway-feature"]).toBeUndefined();
    expect(upstream?.headers["accept-encoding"]).toBe("gzip");
    expect(upstream?.headers["x-custom"]).toBe("kept");
    expect(upstream?.headers["x-request-id"]).toBe("client-req-1");
    expect(JSON.stringify(upstream?.headers)).not.toContain(key);
    expect(response.status).toBe(201);
    expect(response.body.toString()).toBe("streamed");
    expect(response.headers["x-up"]).toBe("1");
    expect(response.headers["set-cookie"]).toBeUndefined();
    expect(response.headers["x-request-id"]).toBe("client-req-1");
  });

  it("refuses a client without a gateway key, and asks APIXO nothing", async () => {
    const { url, seen } = await start((_req, res) => res.end("never"));
    const response = await sendRaw(url, "/api/v1/files", {});
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body.toString())).toMatchObject({ error: { type: "UNAUTHENTICATED" } });
    expect(seen).toHaveLength(0);
  });

  it("asks APIXO for the path and query only, whatever request target the client used", async () => {
    const { url, key, seen } = await start((_req, res) => res.end("{}"));
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    socket.write(
      `GET http://evil.example/api/v1/files/a?b=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`,
    );
    await expect.poll(() => seen.length).toBe(1);
    socket.destroy();
    expect(seen[0]?.url).toBe("/apixo/api/v1/files/a?b=1");
    expect(seen[0]?.headers.host).toBe(`127.0.0.1:${(server?.address() as AddressInfo).port}`);
  });

  it("frames a chunked body again upstream", async () => {
    const { url, key, seen } = await start((_req, res) => res.end("ok"));
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/api/v1/files`,
        { method: "PUT", headers: { "transfer-encoding": "chunked", authorization: `Bearer ${key}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once("error", reject);
      req.write("part one, ");
      req.end("part two");
    });
    expect(status).toBe(200);
    expect(seen[0]?.body.toString()).toBe("part one, part two");
    expect(seen[0]?.headers["transfer-encoding"]).toBe("chunked");
  });

  it("leaves APIXO a request it can see is incomplete when the client goes away mid-body", async () => {
    const { url, key, seen } = await start((_req, res) => res.end("never"));
    const req = request(`${url}/api/v1/files`, {
      method: "POST",
      headers: { "content-length": "1000", authorization: `Bearer ${key}` },
    });
    req.on("error", () => undefined);
    req.write("only part of the body");
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]?.complete).toBe(false);
  });

  it("answers 502 in the envelope when APIXO cannot be reached", async () => {
    const { url, key } = await start((_req, res) => res.end("never"));
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const response = await sendRaw(url, "/api/v1/files", { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body.toString())).toMatchObject({ error: { type: "UPSTREAM_UNAVAILABLE" } });
  });
});
