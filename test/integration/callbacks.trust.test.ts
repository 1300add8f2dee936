import { afterEach, describe, expect, inject, it } from "vitest";
import { startGateway, type RunningGateway } from "../../src/gateway/gateway.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { LogCapture, type Harness } from "../helpers/gatewayHarness.js";
import {
  eventually,
  fakeResolver,
  metricValue,
  pause,
  startCallbackHarness,
  startReceiver,
  submitCallback,
  type Receiver,
} from "../helpers/callbackHarness.js";

let harness: Harness | undefined;
let receiver: Receiver | undefined;
let second: RunningGateway | undefined;
afterEach(async () => {
  await second?.close();
  await harness?.close();
  await receiver?.close();
  harness = undefined;
  receiver = undefined;
  second = undefined;
});

const PRICE = 30_000;
const today = (): string => new Date().toISOString().slice(0, 10);

/** The gateway callback URL APIXO was given for the last submit. */
function gatewayCallbackUrl(h: Harness): string {
  const submits = h.simulator.stats.requests.filter((r) => r.endpoint === "generateTask");
  const body = JSON.parse(submits[submits.length - 1]!.body.toString("utf8")) as { callback_url: string };
  return body.callback_url;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("callbacks the gateway does not trust", () => {
  it("answers 404 to an unknown token or a token for another task, and counts them as rejected", async () => {
    receiver = await startReceiver();
    // APIXO's own callback comes much later; the test speaks for it.
    harness = await startCallbackHarness({ simulator: { callbackDelayMs: 60_000 } });
    const { taskId } = await submitCallback(harness, receiver.url);
    const real = gatewayCallbackUrl(harness);
    const envelope = { code: 200, message: "success", data: { taskId, state: "success" } };

    const wrongToken = real.replace(/\.[A-Za-z0-9_-]{43}$/, `.${"A".repeat(43)}`);
    expect((await post(wrongToken, envelope)).status).toBe(404);
    expect((await post(`${harness.url}/callbacks/apixo/nobody.${"B".repeat(43)}`, envelope)).status).toBe(
      404,
    );
    expect((await post(`${harness.url}/callbacks/apixo/garbage`, envelope)).status).toBe(404);
    const otherTask = { ...envelope, data: { taskId: "task_not_this_one", state: "success" } };
    expect((await post(real, otherTask)).status).toBe(404);

    await pause(200);
    expect(receiver.deliveries).toHaveLength(0);
    // A token naming a tenant the config does not know gets the tenant label "none" (bounded by config, never empty).
    expect(await metricValue(harness, "callbacks_total", { tenant: "acme", outcome: "rejected" })).toBe(2);
    expect(await metricValue(harness, "callbacks_total", { tenant: "none", outcome: "rejected" })).toBe(2);
  });

  it("trusts statusTask over a body claiming success for a task that failed", async () => {
    receiver = await startReceiver();
    harness = await startCallbackHarness({ simulator: { callbackDelayMs: 60_000 } });
    const { taskId } = await submitCallback(harness, receiver.url, "sim:fail=GENERATION_FAILED");
    const forged = {
      code: 200,
      message: "success",
      data: { taskId, state: "success", resultJson: '{"resultUrls":["https://evil.example/x.png"]}' },
    };
    expect((await post(gatewayCallbackUrl(harness), forged)).status).toBe(200);
    await eventually(() => receiver!.deliveries.length === 1);

    const delivered = receiver.deliveries[0]!.body.toString("utf8");
    expect(delivered).not.toContain("evil.example");
    expect(JSON.parse(delivered)).toMatchObject({
      data: { taskId, state: "failed", failCode: "GENERATION_FAILED" },
    });
    const status = await fetch(`${harness.url}/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
      headers: harness.auth("acme"),
    });
    expect(await status.text()).toBe(delivered);
    const [day] = await harness.gateway.store.spendOfDays("acme", [today()]);
    expect(day).toMatchObject({ spentMicros: 0, refundedMicros: PRICE });
    expect(harness.logs.records().some((r) => r.event === "callback_contradicted")).toBe(true);
  });
});

describe("pending deliveries live in the store", () => {
  it("are finished by a restarted gateway when the first one stopped before delivering", async () => {
    receiver = await startReceiver();
    receiver.answer = () => 503;
    harness = await startCallbackHarness({
      redisUrl: inject("redisUrl"),
      delivery: { attempts: 6, baseDelayMs: 200, maxDelayMs: 200 },
    });
    const { taskId } = await submitCallback(harness, receiver.url);
    await eventually(() => receiver!.deliveries.length === 1);
    await harness.gateway.close();
    receiver.answer = () => 200;

    second = await startGateway({ config: harness.config, logger: createLogger("info", new LogCapture()) });
    await eventually(() => receiver!.deliveries.some((d) => d.status === 200));
    await pause(300);
    expect(receiver.deliveries.filter((d) => d.status === 200)).toHaveLength(1);
    expect(JSON.parse(receiver.deliveries[1]!.body.toString("utf8"))).toMatchObject({
      data: { taskId, state: "success" },
    });
    // The restarted gateway's try is the same delivery to the receiver: the same webhook-id.
    expect(receiver.deliveries[1]!.headers["webhook-id"]).toBe(receiver.deliveries[0]!.headers["webhook-id"]);
    // The harness closes its gateway again: a second close must be harmless.
    harness = { ...harness, close: () => harness!.simulator.close() };
  });
});

describe("callback URLs that point inside the network", () => {
  const names = {
    "loopback.test": "127.0.0.1",
    "private.test": "10.0.0.5",
    "metadata.test": "169.254.169.254",
    "v6loopback.test": "::1",
    "mapped.test": "::ffff:10.1.2.3",
    "sixtofour.test": "2002:7f00:1::1",
    "nat64.test": "64:ff9b::a9fe:a9fe",
    "nat64local.test": "64:ff9b:1::5",
    "teredo.test": "2001:0:4136:e378:8000:63bf:80ff:fffe",
  };

  it.each([
    ["https://loopback.test/hook", "127.0.0.1"],
    ["https://private.test/hook", "10.0.0.5"],
    ["https://metadata.test/latest/meta-data", "169.254.169.254"],
    ["https://v6loopback.test/hook", "::1"],
    ["https://mapped.test/hook", "::ffff:10.1.2.3"],
    ["https://127.0.0.1/hook", "127.0.0.1"],
    ["https://[::1]:8443/hook", "::1"],
    ["https://169.254.169.254/latest", "169.254.169.254"],
    ["https://sixtofour.test/hook", "2002:7f00:1::1"],
    ["https://nat64.test/hook", "64:ff9b::a9fe:a9fe"],
    ["https://nat64local.test/hook", "64:ff9b:1::5"],
    ["https://teredo.test/hook", "2001:0:4136:e378:8000:63bf:80ff:fffe"],
    ["https://[2002:a9fe:a9fe::1]/hook", "169.254.169.254"],
    ["https://[64:ff9b::7f00:1]/hook", "127.0.0.1"],
    ["https://localhost/hook", "localhost"],
    ["https://2130706433/hook", "four decimal numbers"],
  ])("refuses %s with a clear 400", async (url, address) => {
    harness = await startCallbackHarness({
      resolve: fakeResolver(names),
      callbacks: { allowHttp: false, allowPrivateNetworks: [] },
    });
    const answer = await submitCallback(harness, url);
    expect(answer.status).toBe(400);
    expect(answer.parsed.error?.type).toBe("INVALID_REQUEST");
    expect(answer.parsed.message).toContain("callback_url");
    expect(answer.parsed.message).toContain(address);
    expect(harness.simulator.stats.count("generateTask")).toBe(0);
    expect((await harness.gateway.store.spendOfDays("acme", [today()]))[0]?.spentMicros ?? 0).toBe(0);
  });

  it("refuses plain http unless the operator allows it", async () => {
    harness = await startCallbackHarness({
      resolve: fakeResolver({ "hooks.test": "93.184.216.34" }),
      callbacks: { allowHttp: false, allowPrivateNetworks: [] },
    });
    const answer = await submitCallback(harness, "http://hooks.test/hook");
    expect(answer.status).toBe(400);
    expect(answer.parsed.message).toMatch(/callback_url must be an https URL/);
  });

  it("refuses callback mode when the gateway has no public URL configured", async () => {
    harness = await startCallbackHarness({ callbacks: { publicBaseUrl: undefined } });
    const answer = await submitCallback(harness, "https://hooks.example/hook");
    expect(answer.status).toBe(400);
    expect(answer.parsed.message).toMatch(/publicBaseUrl/);
  });
});
