import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/catalog.js";
import { assertNoQuery, statusTaskId } from "../../src/http/query.js";

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof GatewayError && err.type === "INVALID_REQUEST") return err.message;
    throw err;
  }
  throw new Error("not refused");
}

describe("statusTask's query means one thing: exactly one taskId", () => {
  it("reads the one taskId, decoding its %-escapes", () => {
    expect(statusTaskId("taskId=task_12345678")).toBe("task_12345678");
    expect(statusTaskId("taskId=a%2Fb%2Bc")).toBe("a/b+c");
  });

  it("refuses every query whose meaning could differ between the gateway and APIXO, saying why", () => {
    const filler = Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join("&");
    for (const [query, reason] of [
      [undefined, /taskId query parameter is required/],
      ["", /required/],
      ["taskId=", /required/],
      ["taskId", /required/],
      [`taskId=mine&${filler}&taskId=theirs`, /Too many query parameters \(1002\)/],
      ["taskId=mine&taskId=theirs", /given 2 times/],
      ["taskId=mine&TaskId=theirs", /case-sensitive/],
      ["TASKID=theirs", /case-sensitive/],
      ["taskId[]=theirs", /Bracketed/],
      ["taskId[0]=theirs&taskId=mine", /Bracketed/],
      ["taskId=mine&amp;taskId=theirs", /';'/],
      ["taskId=mine;taskId=theirs", /';'/],
      ["taskId=mine&x=1", /only the taskId parameter.*remove 'x'/],
      ["taskId=mine&%00=1", /%-escapes/],
      ["task%49d=theirs", /%-escapes/],
      ["taskId=mine&", /empty parameter/],
      ["&taskId=mine", /empty parameter/],
      ["=x&taskId=mine", /empty parameter/],
      ["taskId=a+b", /'\+'/],
      ["taskId=mine%26taskId%3Dtheirs", /encoded separator/],
      ["taskId=mine%23", /encoded separator/],
      ["taskId=%2525", /encoded separator/],
      ["taskId=%E0%A4%A", /malformed %-escape/],
      ["taskId=%00", /visible ASCII/],
      ["taskId=caf%C3%A9", /visible ASCII/],
      [`taskId=${"a".repeat(201)}`, /1-200/],
    ] as const) {
      expect(
        refusal(() => statusTaskId(query)),
        String(query).slice(0, 60),
      ).toMatch(reason);
    }
  });

  it("never quotes a parameter name back unless it is short and plain", () => {
    expect(refusal(() => statusTaskId("taskId=t&<script>=1"))).not.toContain("<script>");
  });
});

describe("endpoints that take no query refuse one instead of dropping it", () => {
  it("accepts none or an empty one, refuses anything else", () => {
    expect(() => {
      assertNoQuery(undefined, "current-balance");
      assertNoQuery("", "current-balance");
    }).not.toThrow();
    expect(refusal(() => assertNoQuery("x=1", "current-balance"))).toMatch(
      /current-balance takes no query parameters/,
    );
  });
});
