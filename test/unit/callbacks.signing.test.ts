import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { backoffMs } from "../../src/proxy/retry.js";
import { replaceCallbackUrl } from "../../src/callbacks/rewrite.js";
import { signDelivery, verifyDelivery } from "../../src/callbacks/signing.js";

const SECRET = "whsec-unit-0123456789abcdef";

describe("delivery signatures", () => {
  const body = Buffer.from('{"code":200,"message":"success","data":{"taskId":"t1","state":"success"}}');

  it("are sha256= and the hex HMAC of timestamp, a dot and the exact body", () => {
    const expected = createHmac("sha256", SECRET)
      .update(`1767225600.${body.toString("utf8")}`)
      .digest("hex");
    expect(signDelivery(SECRET, 1_767_225_600, body)).toBe(`sha256=${expected}`);
  });

  it("verify only with the same secret, body and timestamp, within the tolerance", () => {
    const signature = signDelivery(SECRET, 1_767_225_600, body);
    expect(verifyDelivery(SECRET, "1767225600", signature, body, 1_767_225_700)).toBe(true);
    expect(verifyDelivery("another-secret-0123456789", "1767225600", signature, body, 1_767_225_700)).toBe(
      false,
    );
    expect(verifyDelivery(SECRET, "1767225601", signature, body, 1_767_225_700)).toBe(false);
    expect(
      verifyDelivery(SECRET, "1767225600", signature, Buffer.concat([body, Buffer.from(" ")]), 1_767_225_700),
    ).toBe(false);
    expect(verifyDelivery(SECRET, "1767225600", signature, body, 1_767_226_000)).toBe(false);
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
