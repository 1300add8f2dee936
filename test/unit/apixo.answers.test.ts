import { describe, expect, it } from "vitest";
import { parseBalanceAnswer, parseStatusAnswer, parseSubmitAnswer } from "../../src/apixo/answers.js";

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const ok = (data: unknown): Buffer => json({ code: 200, message: "success", data });

describe("parseSubmitAnswer", () => {
  it("accepts a 200 envelope with a taskId, whatever else data carries", () => {
    expect(parseSubmitAnswer(200, ok({ taskId: "task_12345678", state: "pending", voice_id: "v" }))).toEqual({
      accepted: true,
      taskId: "task_12345678",
    });
  });

  it("does not accept a non-200 HTTP status even with a taskId", () => {
    const result = parseSubmitAnswer(
      402,
      json({ code: 402, message: "Insufficient balance", data: { taskId: "t1" } }),
    );
    expect(result).toEqual({ accepted: false, reason: "HTTP 402: Insufficient balance" });
  });

  it("does not accept an envelope code other than 200", () => {
    expect(parseSubmitAnswer(200, json({ code: 400, message: "Insufficient credits", data: null }))).toEqual({
      accepted: false,
      reason: "envelope code 400 (not 200): Insufficient credits",
    });
    expect(parseSubmitAnswer(200, json({ code: "200", data: { taskId: "t1" } })).accepted).toBe(false);
  });

  it.each([{}, { taskId: "" }, { taskId: 12 }, { taskId: "a b" }, { taskId: "x".repeat(201) }])(
    "does not accept data %j without a plain taskId",
    (data) => {
      const result = parseSubmitAnswer(200, ok(data));
      expect(result.accepted).toBe(false);
      expect(result).toHaveProperty("reason", expect.stringMatching(/^data\.taskId is missing/));
    },
  );

  it.each([Buffer.from("<html>502</html>"), Buffer.from(""), json([1, 2]), json("ok"), ok(null)])(
    "does not accept garbage %#",
    (body) => {
      expect(parseSubmitAnswer(200, body).accepted).toBe(false);
    },
  );

  it("cuts upstream text quoted in a reason", () => {
    const result = parseSubmitAnswer(500, json({ code: 500, message: "x".repeat(10_000) }));
    expect(result.accepted).toBe(false);
    if (!result.accepted) expect(result.reason.length).toBeLessThan(300);
  });
});

describe("parseStatusAnswer", () => {
  it("reads a successful task with its times", () => {
    const body = ok({
      taskId: "task_1",
      state: "success",
      resultJson: '{"resultUrls":["https://r2.apixo.ai/x.png"]}',
      createTime: 1767965610929,
      completeTime: 1767965652317,
      costTime: 41388,
    });
    expect(parseStatusAnswer(200, body)).toEqual({
      ok: true,
      taskId: "task_1",
      state: "success",
      createTime: 1767965610929,
      completeTime: 1767965652317,
      costTimeMs: 41388,
    });
  });

  it("reads a failed task with its failCode and failMsg", () => {
    const body = ok({
      taskId: "t",
      state: "failed",
      failCode: "CONTENT_VIOLATION",
      failMsg: "Content does not meet",
    });
    expect(parseStatusAnswer(200, body)).toEqual({
      ok: true,
      taskId: "t",
      state: "failed",
      failCode: "CONTENT_VIOLATION",
      failMsg: "Content does not meet",
    });
  });

  it("drops optional fields of the wrong type instead of trusting them", () => {
    const body = ok({ taskId: "t", state: "processing", failCode: 5, costTime: "41388", createTime: -1 });
    expect(parseStatusAnswer(200, body)).toEqual({ ok: true, taskId: "t", state: "processing" });
  });

  it("refuses a state that is not one of the four", () => {
    expect(parseStatusAnswer(200, ok({ taskId: "t", state: "done" }))).toEqual({
      ok: false,
      reason: "data.state done is not one of pending, processing, success, failed",
    });
    expect(parseStatusAnswer(200, ok({ taskId: "t" })).ok).toBe(false);
  });

  it("refuses a missing taskId, a wrong envelope code, a non-200 status and garbage", () => {
    expect(parseStatusAnswer(200, ok({ state: "pending" })).ok).toBe(false);
    expect(parseStatusAnswer(200, json({ code: 404, message: "Task not found", data: null }))).toEqual({
      ok: false,
      reason: "envelope code 404 (not 200): Task not found",
    });
    expect(parseStatusAnswer(404, json({ code: 404, message: "Task not found", data: null }))).toEqual({
      ok: false,
      reason: "HTTP 404: Task not found",
    });
    expect(parseStatusAnswer(200, Buffer.from("{"))).toEqual({
      ok: false,
      reason: "HTTP 200 with a body that is not JSON",
    });
  });
});

describe("parseBalanceAnswer", () => {
  it("reads the balance in USD", () => {
    expect(parseBalanceAnswer(200, ok(74.87))).toEqual({ ok: true, balanceUsd: 74.87 });
    expect(parseBalanceAnswer(200, ok(0))).toEqual({ ok: true, balanceUsd: 0 });
  });

  it("refuses a balance that is not a number", () => {
    expect(parseBalanceAnswer(200, ok("74.87"))).toEqual({
      ok: false,
      reason: "data is not a balance in USD: 74.87",
    });
    expect(parseBalanceAnswer(200, ok(null)).ok).toBe(false);
  });

  it("refuses a non-200 status, a wrong envelope code and garbage", () => {
    expect(
      parseBalanceAnswer(401, json({ code: 401, message: "Invalid or missing API key", data: null })),
    ).toEqual({
      ok: false,
      reason: "HTTP 401: Invalid or missing API key",
    });
    expect(parseBalanceAnswer(200, json({ code: 500, data: 10 })).ok).toBe(false);
    expect(parseBalanceAnswer(200, Buffer.from("74.87 USD")).ok).toBe(false);
  });
});
