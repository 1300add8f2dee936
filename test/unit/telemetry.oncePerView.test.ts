import { describe, expect, it } from "vitest";
import { oncePerView } from "../../src/telemetry/metricLabels.js";

describe("zero series per configuration", () => {
  it("are made once for each configuration seen, again after a reload, never on every scrape", () => {
    let view = { tenants: ["acme"] };
    const made: string[][] = [];
    const scrape = oncePerView(
      () => view,
      (v) => made.push(v.tenants),
    );
    scrape();
    scrape();
    expect(made).toEqual([["acme"]]);
    view = { tenants: ["acme", "beta"] };
    scrape();
    scrape();
    expect(made).toEqual([["acme"], ["acme", "beta"]]);
  });
});
