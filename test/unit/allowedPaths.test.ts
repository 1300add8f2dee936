import { describe, expect, it } from "vitest";
import { isAllowedPath } from "../../src/http/allowedPaths.js";

const ALLOWED = ["/api/v1/models"];

describe("operator-allowed passthrough paths", () => {
  it("cover the prefix itself and whole segments below it", () => {
    expect(isAllowedPath("/api/v1/models", ALLOWED)).toBe(true);
    expect(isAllowedPath("/api/v1/models/flux2?x=1", ALLOWED)).toBe(true);
    expect(isAllowedPath("/api/v1/models/", ["/api/v1/models/"])).toBe(true);
  });

  it("do not cover a longer segment that merely starts with the prefix", () => {
    expect(isAllowedPath("/api/v1/modelsX", ALLOWED)).toBe(false);
  });

  it("never let dot segments or encoded separators reach a governed endpoint ungoverned", () => {
    for (const url of [
      "/api/v1/models/../generateTask/nano-banana",
      "/api/v1/models/%2e%2e/generateTask/nano-banana",
      "/api/v1/models/%2E./generateTask/nano-banana",
      "/api/v1/models/..%2fapikeys%2fcurrent-balance",
      "/api/v1/models/./x",
      "/api/v1/models/a%5c..%5cb",
      "/api/v1/models\\..\\generateTask",
    ]) {
      expect(isAllowedPath(url, ALLOWED), url).toBe(false);
    }
  });

  it("allow nothing when no prefix is configured", () => {
    expect(isAllowedPath("/api/v1/models", [])).toBe(false);
  });
});
