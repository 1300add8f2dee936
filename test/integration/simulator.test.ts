import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createSimulator } from "../../src/simulator/index.js";
import type { Simulator, SimulatorOptions } from "../../src/simulator/index.js";
import { freePort } from "../helpers/ports.js";

const KEY = "sk-sim-test";
const OTHER_KEY = "sk-sim-other";

let sim: Simulator | undefined;
let clock: ManualClock;

async function start(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  clock = new ManualClock();
  sim = createSimulator({
    keys: { [KEY]: 1, [OTHER_KEY]: 1 },
    pendingMs: 0,
    processingMs: 0,
    clock,
    ...options,
  });
  await sim.listen(0);
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

async function call(
  path: string,
  init: { method?: string; key?: string | null; body?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const key = init.key === undefined ? KEY : init.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${sim!.url}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

function submit(model: string, body: unknown, key: string = KEY): Promise<Answer> {
  return call(`/api/v1/generateTask/${model}`, { body: JSON.stringify(body), key });
}

async function submitOk(model: string, input: Record<string, unknown>, extra: object = {}): Promise<string> {
  const answer = await submit(model, { input, ...extra });
  expect(answer.status).toBe(200);
  return (answer.json as { data: { taskId: string } }).data.taskId;
}

async function taskData(model: string, taskId: string, key: string = KEY): Promise<Record<string, unknown>> {
  const answer = await call(`/api/v1/statusTask/${model}?taskId=${taskId}`, { key });
  expect(answer.status).toBe(200);
  return (answer.json as { data: Record<string, unknown> }).data;
}

const invalid = (error: string): unknown => ({ code: 400, message: "Invalid request", data: { error } });

describe("simulator: auth and routing", () => {
  it("rejects a missing key with APIXO's 401 envelope", async () => {
    await start();
    const answer = await call("/api/v1/apikeys/current-balance", { key: null });
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ code: 401, message: "Invalid or missing API key", data: null });
  });

  it("rejects an unknown key on every endpoint, before looking at the request", async () => {
    await start();
    for (const answer of [
      await submit("nano-banana", { input: { prompt: "x" } }, "sk-unknown"),
      await call("/api/v1/statusTask/nano-banana?taskId=abc", { key: "sk-unknown" }),
      await call("/api/v1/apikeys/current-balance", { key: "sk-unknown" }),
    ]) {
      expect(answer.status).toBe(401);
    }
    expect(sim!.stats.tasks).toBe(0);
  });

  it("answers an unknown model with 404 Model not found", async () => {
    await start();
    const answer = await submit("dall-e-9", { input: { prompt: "x" } });
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ code: 404, message: "Model not found: dall-e-9", data: null });
  });

  it("accepts a model by its alias and serves its status under the alias too", async () => {
    await start();
    const taskId = await submitOk("flux-2", { prompt: "a cafe" });
    expect((await taskData("flux-2", taskId)).state).toBe("success");
    expect((await taskData("flux2", taskId)).state).toBe("success");
  });

  it("answers unknown paths and wrong methods with the 404 envelope", async () => {
    await start();
    const other = await call("/api/v2/whatever");
    expect(other.status).toBe(404);
    expect(other.json).toMatchObject({ code: 404, data: null });
    const wrongMethod = await call("/api/v1/generateTask/nano-banana");
    expect(wrongMethod.status).toBe(404);
  });

  it("listens on the port it is given and reports its base URL", async () => {
    const port = await freePort();
    sim = createSimulator({ keys: {} });
    expect(await sim.listen(port)).toBe(`http://127.0.0.1:${port}`);
    expect(sim.url).toBe(`http://127.0.0.1:${port}`);
  });
});

describe("simulator: input checks", () => {
  const prompt = "a cat";
  const cases: [string, string, string, string][] = [
    ["a body that is not JSON", "nano-banana", "{oops", "Request body is not valid JSON"],
    ["a body that is not an object", "nano-banana", "[1]", "Request body must be a JSON object"],
    ["a missing input", "nano-banana", "{}", "Missing required field: input"],
    ["an input that is not an object", "nano-banana", '{"input":"x"}', "input must be a JSON object"],
    ["a missing prompt", "nano-banana", '{"input":{}}', "Missing required field: input.prompt"],
    [
      "an empty prompt",
      "nano-banana",
      '{"input":{"prompt":"  "}}',
      "input.prompt must be a non-empty string",
    ],
    [
      "a prompt over the model's limit",
      "nano-banana",
      JSON.stringify({ input: { prompt: "x".repeat(5001) } }),
      "input.prompt must be at most 5000 characters",
    ],
    [
      "image_urls that is not an array",
      "nano-banana",
      JSON.stringify({ input: { prompt, image_urls: "https://a/b.png" } }),
      "input.image_urls must be an array of http(s) URLs; got a string.",
    ],
    [
      "an image URL that is not http(s)",
      "nano-banana",
      JSON.stringify({ input: { prompt, image_urls: ["https://a/ok.png", "file:///etc/passwd"] } }),
      "input.image_urls[1] must be an http(s) URL",
    ],
    [
      "more image URLs than the model takes",
      "nano-banana",
      JSON.stringify({
        input: { prompt, image_urls: Array.from({ length: 6 }, (_, i) => `https://a/${i}.png`) },
      }),
      "input.image_urls has 6 URLs; nano-banana accepts at most 5.",
    ],
    [
      "a mode the model does not list",
      "flux2",
      JSON.stringify({ input: { prompt, mode: "ultra" } }),
      "input.mode must be one of: pro-text-to-image, pro-image-to-image, flex-text-to-image, flex-image-to-image",
    ],
    [
      "an image mode without images",
      "nano-banana",
      JSON.stringify({ input: { prompt, mode: "image-to-image" } }),
      'input.image_urls is required when input.mode is "image-to-image"; give 1 to 5 http(s) URLs.',
    ],
    [
      "a resolution the model does not list",
      "flux2",
      JSON.stringify({ input: { prompt, resolution: "4K" } }),
      "input.resolution must be one of: 1K, 2K",
    ],
    [
      "a duration the model does not list",
      "sora-2",
      JSON.stringify({ input: { prompt, duration: 7 } }),
      "input.duration must be one of: 4, 8, 10, 12, 15 (seconds)",
    ],
    [
      "an unknown request_type",
      "nano-banana",
      JSON.stringify({ request_type: "webhook", input: { prompt } }),
      "request_type must be async or callback",
    ],
    [
      "callback mode without callback_url",
      "nano-banana",
      JSON.stringify({ request_type: "callback", input: { prompt } }),
      "Missing required field: callback_url (request_type is callback)",
    ],
    [
      "a callback_url that is not http(s)",
      "nano-banana",
      JSON.stringify({ request_type: "callback", callback_url: "ftp://x/y", input: { prompt } }),
      "callback_url must be an http(s) URL",
    ],
  ];

  it.each(cases)(
    "rejects %s with a 400 naming the problem, creating and charging nothing",
    async (_, model, body, error) => {
      await start();
      const answer = await call(`/api/v1/generateTask/${model}`, { body });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(invalid(error));
      expect(sim!.stats.tasks).toBe(0);
      expect(sim!.balanceUsd(KEY)).toBe(1);
    },
  );

  it("counts prompt length in characters and accepts unknown fields", async () => {
    await start();
    // 5000 emoji are 10000 UTF-16 units: the limit is about characters.
    await submitOk("nano-banana", {
      prompt: "🐱".repeat(5000),
      aspect_ratio: "16:9",
      brand_new_field: { a: 1 },
    });
    await submitOk("sora-2", { prompt: "waves", duration: "8" }, { provider: "value" });
    await submitOk("nano-banana", { prompt: "mix", mode: "image-to-image", image_urls: ["http://a/b.png"] });
  });
});

describe("simulator: money", () => {
  it("charges the model's price on submit and reports the balance in USD", async () => {
    await start();
    const answer = await submit("nano-banana", { input: { prompt: "a cat" } });
    expect(answer.json).toEqual({
      code: 200,
      message: "success",
      data: { taskId: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown },
    });
    const balance = await call("/api/v1/apikeys/current-balance");
    expect(balance.json).toEqual({ code: 200, message: "success", data: 0.97 });
    expect(sim!.balanceUsd(KEY)).toBe(0.97);
    expect(sim!.balanceUsd(OTHER_KEY)).toBe(1);
  });

  it("refuses with 402 once the balance cannot cover the price, and charges nothing", async () => {
    await start({ keys: { [KEY]: 0.05 } });
    await submitOk("nano-banana", { prompt: "one" });
    const refused = await submit("nano-banana", { input: { prompt: "two" } });
    expect(refused.status).toBe(402);
    expect(refused.json).toEqual({ code: 402, message: "Insufficient balance", data: null });
    expect(sim!.balanceUsd(KEY)).toBe(0.02);
    expect(sim!.stats.tasks).toBe(1);
  });

  it("prices with a custom priceMicros given the canonical model id and the input", async () => {
    const seen: [string, unknown][] = [];
    await start({
      priceMicros: (model, input) => {
        seen.push([model, input.resolution]);
        return 123_456;
      },
    });
    await submitOk("flux-2", { prompt: "xyz", resolution: "2K" });
    expect(seen).toEqual([["flux2", "2K"]]);
    expect(sim!.balanceUsd(KEY)).toBe(0.876544);
  });

  it("refunds a failed task when, and only when, it is seen as failed", async () => {
    await start({ pendingMs: 1000, processingMs: 1000 });
    const taskId = await submitOk("nano-banana", { prompt: "sim:violation" });
    expect(sim!.balanceUsd(KEY)).toBe(0.97);
    clock.advance(1999);
    expect((await call("/api/v1/apikeys/current-balance")).json).toMatchObject({ data: 0.97 });
    clock.advance(1);
    expect((await taskData("nano-banana", taskId)).state).toBe("failed");
    expect((await call("/api/v1/apikeys/current-balance")).json).toMatchObject({ data: 1 });
  });

  it("lets a due refund pay for the next task instead of refusing it", async () => {
    await start({ keys: { [KEY]: 0.03 } });
    await submitOk("nano-banana", { prompt: "sim:fail=GENERATION_FAILED" });
    await submitOk("nano-banana", { prompt: "fine" });
    expect(sim!.balanceUsd(KEY)).toBe(0);
  });
});

describe("simulator: task lifecycle", () => {
  it("moves a task pending -> processing -> success on the clock, with fields as APIXO documents", async () => {
    await start({ pendingMs: 1000, processingMs: 5000 });
    const createTime = clock.now();
    const taskId = await submitOk("nano-banana", { prompt: "a cat" });
    expect(await taskData("nano-banana", taskId)).toEqual({ taskId, state: "pending", createTime });
    clock.advance(1000);
    expect(await taskData("nano-banana", taskId)).toEqual({ taskId, state: "processing", createTime });
    clock.advance(4999);
    expect((await taskData("nano-banana", taskId)).state).toBe("processing");
    clock.advance(1);
    const done = await taskData("nano-banana", taskId);
    expect(done).toEqual({
      taskId,
      state: "success",
      resultJson: expect.any(String) as unknown,
      createTime,
      completeTime: createTime + 6000,
      costTime: 6000,
    });
    expect(JSON.parse(done.resultJson as string)).toEqual({
      resultUrls: [`https://sim.apixo.invalid/${taskId}/0.png`],
    });
  });

  it("defaults to 1 s pending and the model's typical processing time", async () => {
    clock = new ManualClock();
    sim = createSimulator({ keys: { [KEY]: 1 }, clock });
    await sim.listen(0);
    const taskId = await submitOk("nano-banana", { prompt: "a cat" });
    clock.advance(999);
    expect((await taskData("nano-banana", taskId)).state).toBe("pending");
    clock.advance(1 + 14_999);
    expect((await taskData("nano-banana", taskId)).state).toBe("processing");
    clock.advance(1);
    expect((await taskData("nano-banana", taskId)).state).toBe("success");
  });

  it("returns one result URL per output the model produces", async () => {
    await start();
    const taskId = await submitOk("midjourney", { prompt: "a castle" });
    const { resultUrls } = JSON.parse((await taskData("midjourney", taskId)).resultJson as string) as {
      resultUrls: string[];
    };
    expect(resultUrls).toEqual([0, 1, 2, 3].map((i) => `https://sim.apixo.invalid/${taskId}/${i}.png`));
  });

  it.each([
    ["sim:violation", "CONTENT_VIOLATION"],
    ["sim:timeout", "PROCESSING_TIMEOUT"],
    ["sim:fail=NSFW_DETECTED please", "NSFW_DETECTED"],
    ["sim:fail=SomethingNew", "SomethingNew"],
  ])(
    "fails a task whose prompt holds %s with failCode %s and a sentence in failMsg",
    async (prompt, failCode) => {
      await start({ pendingMs: 10, processingMs: 10 });
      const taskId = await submitOk("nano-banana", { prompt });
      expect((await taskData("nano-banana", taskId)).state).toBe("pending");
      clock.advance(20);
      const data = await taskData("nano-banana", taskId);
      expect(data).toEqual({
        taskId,
        state: "failed",
        failCode,
        failMsg: expect.stringMatching(/^[A-Z].+\.$/) as unknown,
        createTime: expect.any(Number) as unknown,
        completeTime: expect.any(Number) as unknown,
        costTime: 20,
      });
    },
  );

  it("hides unknown tasks, other keys' tasks and tasks under another model behind 404 Task not found", async () => {
    await start();
    const taskId = await submitOk("nano-banana", { prompt: "mine" });
    const notFound = { code: 404, message: "Task not found", data: null };
    for (const answer of [
      await call(`/api/v1/statusTask/nano-banana?taskId=${"0".repeat(32)}`),
      await call(`/api/v1/statusTask/nano-banana?taskId=${taskId}`, { key: OTHER_KEY }),
      await call(`/api/v1/statusTask/flux2?taskId=${taskId}`),
    ]) {
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(notFound);
    }
  });

  it("rejects statusTask without a taskId with 400", async () => {
    await start();
    const answer = await call("/api/v1/statusTask/nano-banana");
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(invalid("Missing required query parameter: taskId"));
  });
});

describe("simulator: limits and bookkeeping", () => {
  it("rejects a body over 10 MB with 413 and creates no task", async () => {
    await start();
    const prompt = "x".repeat(10 * 1024 * 1024);
    const answer = await submit("nano-banana", { input: { prompt } });
    expect(answer.status).toBe(413);
    expect(answer.json).toMatchObject({ code: 413, data: null });
    expect(sim!.stats.tasks).toBe(0);
  });

  it("records every request with its method, path, endpoint, headers and raw body", async () => {
    await start();
    const body = '{"input":{"prompt":"raw bytes"}}';
    await call("/api/v1/generateTask/nano-banana", { body });
    await call("/api/v1/apikeys/current-balance");
    await call("/nowhere?x=1");
    const [first, second, third] = sim!.stats.requests;
    expect(first).toMatchObject({
      method: "POST",
      path: "/api/v1/generateTask/nano-banana",
      endpoint: "generateTask",
    });
    expect(first!.body.toString()).toBe(body);
    expect(first!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(first!.at).toBe(clock.now());
    expect(second).toMatchObject({ method: "GET", endpoint: "balance" });
    expect(third).toMatchObject({ path: "/nowhere?x=1", endpoint: "other" });
    expect([sim!.stats.count(), sim!.stats.count("generateTask"), sim!.stats.count("statusTask")]).toEqual([
      3, 1, 0,
    ]);
    expect(sim!.stats.tasks).toBe(1);
  });

  it("keeps only the newest requests when told to, while counts stay exact", async () => {
    await start({ maxRecordedRequests: 2 });
    for (let i = 0; i < 5; i++) await call(`/api/v1/apikeys/current-balance?i=${i}`);
    expect(sim!.stats.requests.map((r) => r.path)).toEqual([
      "/api/v1/apikeys/current-balance?i=3",
      "/api/v1/apikeys/current-balance?i=4",
    ]);
    expect(sim!.stats.count("balance")).toBe(5);
  });

  it("reset() restores balances and forgets tasks, stats and faults", async () => {
    await start();
    const taskId = await submitOk("nano-banana", { prompt: "a cat" });
    sim!.faults.add({ endpoint: "balance", action: { kind: "status", status: 500 } });
    sim!.reset();
    expect(sim!.balanceUsd(KEY)).toBe(1);
    expect([sim!.stats.tasks, sim!.stats.count()]).toEqual([0, 0]);
    expect((await call(`/api/v1/statusTask/nano-banana?taskId=${taskId}`)).status).toBe(404);
    expect((await call("/api/v1/apikeys/current-balance")).status).toBe(200);
  });
});
