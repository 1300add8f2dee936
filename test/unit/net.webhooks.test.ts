import { createHmac } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { backoffMs } from "../../src/upstream/retry.js";
import { replaceCallbackUrl } from "../../src/callbacks/rewrite.js";
import { signDelivery, webhookId, webhookKey } from "../../src/net/webhooks.js";

/** A Standard Webhooks secret as their tools generate it: whsec_ + base64 of 24 random bytes. */
const WHSEC = `whsec_${Buffer.from("0123456789abcdefghijklmn").toString("base64")}`;
const RAW = "raw-secret-0123456789abcdef";

describe("delivery signatures follow Standard Webhooks", () => {
  const body = Buffer.from(
    '{"code":200,"message":"success","data":{"taskId":"t1","state":"success","n":"猫"}}',
  );
  const now = Math.floor(Date.now() / 1000);
  const headers = (secret: string, id = "msg_1", timestampSec = now, signed = body) => ({
    "webhook-id": id,
    "webhook-timestamp": String(timestampSec),
    "webhook-signature": signDelivery(secret, id, timestampSec, signed),
  });

  it("are v1, and the base64 HMAC-SHA256 of id, timestamp and the exact body, keyed with the decoded secret", () => {
    const key = Buffer.from("0123456789abcdefghijklmn");
    const expected = createHmac("sha256", key)
      .update(`msg_1.1767225600.${body.toString("utf8")}`)
      .digest("base64");
    expect(signDelivery(WHSEC, "msg_1", 1_767_225_600, body)).toBe(`v1,${expected}`);
  });

  it("verify with the standardwebhooks library for a whsec_ secret", () => {
    expect(new Webhook(WHSEC).verify(body, headers(WHSEC))).toMatchObject({ data: { taskId: "t1" } });
  });

  it("verify with the library for a raw secret, in raw mode or as its whsec_ form", () => {
    expect(() => new Webhook(RAW, { format: "raw" }).verify(body, headers(RAW))).not.toThrow();
    const asWhsec = `whsec_${Buffer.from(RAW, "ascii").toString("base64")}`;
    expect(() => new Webhook(asWhsec).verify(body, headers(RAW))).not.toThrow();
  });

  it("fail verification with another secret, another id, another body or an old timestamp", () => {
    const other = `whsec_${Buffer.from("another-key-0123456789ab").toString("base64")}`;
    expect(() => new Webhook(other).verify(body, headers(WHSEC))).toThrow(WebhookVerificationError);
    expect(() => new Webhook(WHSEC).verify(body, { ...headers(WHSEC), "webhook-id": "msg_2" })).toThrow(
      WebhookVerificationError,
    );
    expect(() => new Webhook(WHSEC).verify(Buffer.from(`${body.toString()} `), headers(WHSEC))).toThrow(
      WebhookVerificationError,
    );
    expect(() => new Webhook(WHSEC).verify(body, headers(WHSEC, "msg_1", now - 600))).toThrow(
      WebhookVerificationError,
    );
  });
});

describe("callbackSecret as a signing key", () => {
  it("decodes whsec_ secrets and takes other secrets' ASCII bytes as they are", () => {
    expect(webhookKey(WHSEC)).toEqual(Buffer.from("0123456789abcdefghijklmn"));
    expect(webhookKey(RAW)).toEqual(Buffer.from(RAW, "ascii"));
  });

  it.each([
    ["whsec_ with bad base64", "whsec_not*base64!!"],
    ["whsec_ without padding", "whsec_MDEyMzQ1Njc4OWFiY2RlZg"],
    ["whsec_ shorter than 16 bytes", `whsec_${Buffer.from("short-key").toString("base64")}`],
    ["a raw secret shorter than 16 characters", "short-secret"],
    ["a raw secret with a space", "has a space 0123456789"],
    ["a raw secret beyond ASCII", "géheim-0123456789abcdef"],
  ])("refuses %s", (_what, secret) => {
    expect(webhookKey(secret)).toBeUndefined();
  });
});

describe("webhook-id", () => {
  it("is the same for every try of a delivery and differs between deliveries", () => {
    expect(webhookId("acme.tokenA")).toBe(webhookId("acme.tokenA"));
    expect(webhookId("acme.tokenA")).not.toBe(webhookId("acme.tokenB"));
    expect(webhookId("acme.tokenA")).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
  });

  it("never reveals the token it is derived from", () => {
    expect(webhookId("acme.tokenA")).not.toContain("tokenA");
  });
});

describe("the callback_url swap", () => {
  const gateway = "https://gw.example/callbacks/apixo/acme.x";

  it("changes only the top-level callback_url string, byte for byte", () => {
    const raw = Buffer.from(
      '{ "input":{"prompt":"h\\u00e9 \\"q\\"","callback_url":"keep"} ,\n"callback_url" :\t"https:\\/\\/t.example\\/h?a=1", "x":[1,{"y":"}"}] }',
    );
    const out = replaceCallbackUrl(raw, gateway)!.toString("utf8");
    expect(out).toBe(
      `{ "input":{"prompt":"h\\u00e9 \\"q\\"","callback_url":"keep"} ,\n"callback_url" :\t${JSON.stringify(gateway)}, "x":[1,{"y":"}"}] }`,
    );
    expect((JSON.parse(out) as { callback_url: string }).callback_url).toBe(gateway);
  });

  it("replaces every duplicate, so APIXO cannot pick the tenant's", () => {
    const out = replaceCallbackUrl(
      Buffer.from('{"callback_url":"a","callback_url":"b","input":{}}'),
      gateway,
    );
    expect(out?.toString("utf8")).not.toMatch(/"a"|"b"/);
  });

  it("keeps multi-byte UTF-8 around it intact", () => {
    const raw = Buffer.from('{"input":{"prompt":"猫 🐱"},"callback_url":"https://t.example"}');
    expect(replaceCallbackUrl(raw, gateway)?.toString("utf8")).toBe(
      `{"input":{"prompt":"猫 🐱"},"callback_url":${JSON.stringify(gateway)}}`,
    );
  });
});

describe("retry backoff", () => {
  const settings = { baseDelayMs: 1000, maxDelayMs: 60_000 };

  it("doubles per failed try up to the cap, jittered to 50-100 %", () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffMs(n, settings, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 60_000,
    ]);
    expect(backoffMs(3, settings, () => 0)).toBe(2000);
  });
});
