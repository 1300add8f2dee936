import { describe, expect, it } from "vitest";
import { matchGovernedRoute } from "../../src/http/governedRoutes.js";

describe("the governed-route fast path", () => {
  it("takes the canonical spelling of the three endpoints, with the model as sent", () => {
    expect(matchGovernedRoute("POST", "/api/v1/generateTask/nano-banana")).toEqual({
      operation: "submit",
      model: "nano-banana",
    });
    expect(matchGovernedRoute("GET", "/api/v1/statusTask/seedance-1.0_pro~x?taskId=t-1&x=2")).toEqual({
      operation: "status",
      model: "seedance-1.0_pro~x",
    });
    expect(matchGovernedRoute("GET", "/api/v1/apikeys/current-balance")).toEqual({ operation: "balance" });
    expect(matchGovernedRoute("GET", "/api/v1/apikeys/current-balance?x=1")).toEqual({
      operation: "balance",
    });
  });

  it("leaves every other spelling, method and path to express", () => {
    for (const [method, url] of [
      ["GET", "/api/v1/generateTask/nano-banana"],
      ["POST", "/api/v1/statusTask/nano-banana?taskId=t"],
      ["HEAD", "/api/v1/statusTask/nano-banana?taskId=t"],
      ["POST", "/api/v1/generateTask/"],
      ["POST", "/api/v1/generateTask/nano-banana/"],
      ["POST", "/api/v1/generateTask/nano%2Dbanana"],
      ["POST", "/api/v1/generateTask/a/b"],
      ["POST", "/api/v1/generateTask/.."],
      ["GET", "/api/v1/statusTask/.?taskId=t"],
      ["POST", "/API/v1/generateTask/nano-banana"],
      ["GET", "/api/v1/apikeys/current-balance/"],
      ["GET", "http://gateway/api/v1/apikeys/current-balance"],
      ["GET", "/healthz"],
      [undefined, undefined],
    ] as const) {
      expect(matchGovernedRoute(method, url), `${method} ${url}`).toBeUndefined();
    }
  });
});
