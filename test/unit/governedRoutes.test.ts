import { describe, expect, it } from "vitest";
import { BALANCE_TARGET, statusTarget, submitTarget } from "../../src/apixo/endpoints.js";
import { matchGovernedRoute, type RouteMatch } from "../../src/http/governedRoutes.js";

function refusal(match: RouteMatch): { type: string; status: number; message: string } | undefined {
  return match.kind === "refused"
    ? { type: match.error.type, status: match.error.status, message: match.error.message }
    : undefined;
}

describe("governed endpoints are taken in APIXO's spelling only", () => {
  it("takes the canonical spelling of the three endpoints, with the model as sent", () => {
    expect(matchGovernedRoute("POST", "/api/v1/generateTask/nano-banana")).toEqual({
      kind: "governed",
      route: { operation: "submit", model: "nano-banana" },
    });
    expect(matchGovernedRoute("GET", "/api/v1/statusTask/seedance-1.0_pro~x?taskId=t-1")).toEqual({
      kind: "governed",
      route: { operation: "status", model: "seedance-1.0_pro~x", taskId: "t-1" },
    });
    expect(matchGovernedRoute("GET", "/api/v1/apikeys/current-balance")).toEqual({
      kind: "governed",
      route: { operation: "balance" },
    });
    // An empty query is no parameter at all.
    expect(matchGovernedRoute("GET", "/api/v1/apikeys/current-balance?").kind).toBe("governed");
  });

  it("takes an absolute-form target (RFC 9112 says a server must) by its path, never its host", () => {
    expect(matchGovernedRoute("GET", "http://evil.example/api/v1/statusTask/flux-2?taskId=t")).toEqual({
      kind: "governed",
      route: { operation: "status", model: "flux-2", taskId: "t" },
    });
  });

  it("refuses every other spelling of a governed endpoint with 400 saying what differs", () => {
    for (const [url, reason] of [
      ["/api/v1/GenerateTask/nano-banana", /case-sensitive/],
      ["/API/V1/GENERATETASK/nano-banana", /case-sensitive/],
      ["/api/v1/generateTask/nano-banana/", /ends with a slash/],
      ["/api/v1/generateTask/", /ends with a slash|names no model/],
      ["/api/v1/generateTask", /names no model/],
      ["/api/v1/generateTask/nano%2Dbanana", /%-escapes/],
      ["/api/v1/generateTask/nano%2Fbanana", /encoded separator/],
      ["/api/v1/generateTask/x%5C..%5Cnano-banana", /encoded separator/],
      ["/api/v1/generateTask/a/b", /one path segment/],
      ["/api/v1//generateTask/nano-banana", /empty segment/],
      ["/api/v1/./generateTask/nano-banana", /dot segment/],
      ["/api/v2/../v1/generateTask/nano-banana", /dot segment/],
      ["/api/v1/generateTask/.", /dot segment/],
      ["/api/v1/generateTask/..", /dot segment/],
      ["/api/v1/generateTask/..%2Fnano-banana", /encoded separator/],
      ["/api/v1/generateTask\\nano-banana", /backslash/],
      ["/api/v1/generateTask/NANO-BANANA", /case-sensitive: write 'nano-banana'/],
      ["/api/v1/generateTask/Flux-2", /case-sensitive: write 'flux-2'/],
      ["/api/v1/generateTask/nano-banana#x", /fragment/],
      ["/api/v1/generateTask/nano-banana?x=1", /takes no query parameters/],
      ["/api/v1/generateTask/nano banana", /model id must be/],
    ] as const) {
      const refused = refusal(matchGovernedRoute("POST", url));
      expect(refused, url).toMatchObject({ type: "INVALID_REQUEST", status: 400 });
      expect(refused?.message, url).toMatch(reason);
    }
  });

  it("refuses a governed endpoint in any spelling with the wrong method as not found, never passing it on", () => {
    for (const [method, url] of [
      ["GET", "/api/v1/generateTask/nano-banana"],
      ["HEAD", "/api/v1/statusTask/nano-banana?taskId=t"],
      ["POST", "/api/v1/statusTask/nano-banana?taskId=t"],
      ["PUT", "/API/v1/apikeys/current-balance/"],
      ["DELETE", "/api/v1/generatetask/x"],
    ] as const) {
      expect(refusal(matchGovernedRoute(method, url)), `${method} ${url}`).toMatchObject({
        type: "NOT_FOUND",
        message: expect.stringMatching(/takes (POST|GET) only/) as unknown,
      });
    }
  });

  it("leaves everything that is no spelling of a governed endpoint to express", () => {
    for (const [method, url] of [
      ["GET", "/healthz"],
      ["POST", "/callbacks/apixo/acme.token"],
      ["GET", "/api/v1/models"],
      ["GET", "/api/v1/statusTaskX/m?taskId=t"],
      ["GET", "*"],
      [undefined, undefined],
    ] as const) {
      expect(matchGovernedRoute(method, url).kind, `${method} ${url}`).toBe("other");
    }
  });
});

describe("the upstream target is built from the gateway's decision", () => {
  it("is APIXO's canonical path with the canonical model and, for statusTask, only the re-encoded taskId", () => {
    expect(submitTarget("flux2")).toEqual({ method: "POST", path: "/api/v1/generateTask/flux2", query: "" });
    expect(statusTarget("flux2", "a b&c")).toEqual({
      method: "GET",
      path: "/api/v1/statusTask/flux2",
      query: "taskId=a%20b%26c",
    });
    expect(BALANCE_TARGET).toEqual({ method: "GET", path: "/api/v1/apikeys/current-balance", query: "" });
  });

  it("refuses to build a target without what the operation needs (a bug, not a client error)", () => {
    expect(() => statusTarget("m", "")).toThrow(/taskId/);
    expect(() => submitTarget("")).toThrow(/model/);
  });
});
