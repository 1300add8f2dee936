import { afterEach, describe, expect, it } from "vitest";
import { generateGatewayKey, hashGatewayKey } from "../../src/tenants/keys.js";
import { startHarness, UPSTREAM_KEY, type Harness } from "../helpers/gatewayHarness.js";
import { sendRaw } from "../helpers/rawHttp.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface Envelope {
  code: number;
  message: string;
  error: { type: string };
}

const ROUTES = [
  { method: "POST", path: "/api/v1/generateTask/nano-banana", body: '{"input":{"prompt":"p"}}' },
  { method: "GET", path: "/api/v1/statusTask/nano-banana?taskId=abc" },
  { method: "GET", path: "/api/v1/apikeys/current-balance" },
] as const;

async function call(h: Harness, route: (typeof ROUTES)[number], authorization?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== undefined) headers.authorization = authorization;
  const response = await fetch(`${h.url}${route.path}`, {
    method: route.method,
    headers,
    ...("body" in route ? { body: route.body } : {}),
  });
  return { response, envelope: (await response.json()) as Envelope };
}

describe("every proxied route refuses callers without a valid gateway key", () => {
  const cases: [string, string | undefined][] = [
    ["missing", undefined],
    ["malformed (not Bearer)", "Basic dXNlcjpwYXNz"],
    ["malformed (wrong shape)", "Bearer sk-not-a-gateway-key"],
    ["unknown", "Bearer agw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
  ];
  for (const route of ROUTES) {
    for (const [what, authorization] of cases) {
      it(`${route.method} ${route.path.split("?")[0]}: ${what} key -> 401`, async () => {
        harness = await startHarness();
        const { response, envelope } = await call(harness, route, authorization);
        expect(response.status).toBe(401);
        expect(envelope.error.type).toBe("UNAUTHENTICATED");
        expect(harness.simulator.stats.count()).toBe(0);
      });
    }
  }

  it("refuses a disabled tenant's key with 403 TENANT_DISABLED", async () => {
    harness = await startHarness({ tenants: [{ id: "acme", enabled: false }] });
    for (const route of ROUTES) {
      const { response, envelope } = await call(harness, route, harness.auth("acme").authorization);
      expect(response.status).toBe(403);
      expect(envelope.error.type).toBe("TENANT_DISABLED");
    }
    expect(harness.simulator.stats.count()).toBe(0);
  });

  it("refuses a model the tenant may not use with 403 MODEL_NOT_ALLOWED", async () => {
    harness = await startHarness({ tenants: [{ id: "acme", allowedModels: ["flux2"] }] });
    const { response, envelope } = await call(harness, ROUTES[0], harness.auth("acme").authorization);
    expect(response.status).toBe(403);
    expect(envelope.error.type).toBe("MODEL_NOT_ALLOWED");
    expect(envelope.message).toContain("nano-banana");
    expect(harness.simulator.stats.count()).toBe(0);
  });

  it("accepts every key of a tenant, so keys can be rotated without downtime", async () => {
    const [oldKey, newKey] = [generateGatewayKey(), generateGatewayKey()];
    harness = await startHarness({
      tenants: [
        {
          id: "acme",
          keys: [{ hash: hashGatewayKey(oldKey) }, { hash: hashGatewayKey(newKey), label: "next" }],
        },
      ],
    });
    for (const key of [oldKey, newKey]) {
      const { response } = await call(harness, ROUTES[2], `Bearer ${key}`);
      expect(response.status).toBe(200);
    }
  });
});

describe("what crosses the gateway", () => {
  it("sends APIXO only the headers the gateway decided: never the client's credentials, cookies or others", async () => {
    harness = await startHarness();
    const key = harness.keys.acme!;
    // node:http, because fetch refuses to send connection-level headers at all.
    await sendRaw(harness.url, "/api/v1/apikeys/current-balance", {
      headers: {
        authorization: `Bearer ${key}`,
        cookie: "session=secret",
        "proxy-authorization": "Basic abc",
        "x-custom": "kept",
        connection: "keep-alive, x-drop-me",
        "x-drop-me": "1",
      },
    });
    const upstream = harness.simulator.stats.requests[0]!.headers;
    expect(JSON.stringify(upstream)).not.toContain(key);
    expect(upstream.cookie).toBeUndefined();
    expect(upstream["proxy-authorization"]).toBeUndefined();
    expect(upstream["x-drop-me"]).toBeUndefined();
    expect(upstream["x-custom"]).toBeUndefined();
    // Built from what the gateway decided (CONTRACTS.md section 5), plus the keep-alive Node's agent adds.
    expect(Object.keys(upstream).sort()).toEqual(
      [
        "accept",
        "accept-encoding",
        "authorization",
        "connection",
        "host",
        "user-agent",
        "x-request-id",
      ].sort(),
    );
    expect(upstream["user-agent"]).toMatch(/^apixo-gateway\/\d+\.\d+\.\d+/);
  });

  it("asks APIXO for uncompressed answers on the routes whose answers the gateway reads", async () => {
    harness = await startHarness();
    const headers = {
      ...harness.auth("acme"),
      "accept-encoding": "gzip, br",
      "content-type": "application/json",
    };
    const submitted = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers,
      body: '{"input":{"prompt":"p"}}',
    });
    const { data } = (await submitted.json()) as { data: { taskId: string } };
    await fetch(`${harness.url}/api/v1/statusTask/nano-banana?taskId=${data.taskId}`, { headers });
    await fetch(`${harness.url}/api/v1/apikeys/current-balance`, { headers });
    const seen = harness.simulator.stats.requests.map((r) => r.headers["accept-encoding"]);
    expect(seen).toEqual(["identity", "identity", "identity"]);
  });

  it("never forwards an upstream Set-Cookie to the client", async () => {
    harness = await startHarness();
    harness.simulator.faults.add({
      endpoint: "generateTask",
      times: 1,
      action: {
        kind: "status",
        status: 400,
        body: '{"code":400,"message":"bad","data":null}',
        headers: { "set-cookie": "tracking=1", "x-upstream-hint": "kept" },
      },
    });
    const response = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body: '{"input":{"prompt":"p"}}',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(response.headers.get("x-upstream-hint")).toBe("kept");
  });
});

describe("operator-allowed extra paths", () => {
  it("are forwarded authenticated, with the upstream key, and streamed back unchanged", async () => {
    harness = await startHarness({ config: { server: { allowedPaths: ["/api/v1/models"] } } });
    const response = await fetch(`${harness.url}/api/v1/models/list?x=1`, { headers: harness.auth("acme") });
    // The simulator does not know the path: its own 404 envelope comes back as it sent it.
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error?: unknown }).error).toBeUndefined();
    const seen = harness.simulator.stats.requests.at(-1);
    expect(seen?.path).toBe("/api/v1/models/list?x=1");
    expect(seen?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    const anonymous = await fetch(`${harness.url}/api/v1/models/list`);
    expect(anonymous.status).toBe(401);
  });

  it("never carry a dot-segment path past governance to another endpoint", async () => {
    harness = await startHarness({ config: { server: { allowedPaths: ["/api/v1/models"] } } });
    for (const [path, status] of [
      // Resolves to a governed endpoint: refused as a spelling of it.
      ["/api/v1/models/../generateTask/nano-banana", 400],
      // Resolves to current-balance, which takes GET only.
      ["/api/v1/models/%2e%2e/apikeys/current-balance", 404],
      // Resolves to no endpoint at all: the allowed prefix does not cover a dot segment.
      ["/api/v1/models/../other", 404],
    ] as const) {
      const response = await sendRaw(harness.url, path, {
        headers: { ...harness.auth("acme"), "content-type": "application/json" },
        body: '{"input":{"prompt":"p"}}',
      });
      expect(response.status, path).toBe(status);
    }
    expect(harness.simulator.stats.count()).toBe(0);
  });
});
