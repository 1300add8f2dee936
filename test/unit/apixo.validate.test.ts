import { describe, expect, it } from "vitest";
import { findModel } from "../../src/apixo/models.js";
import type { ModelSpec } from "../../src/apixo/models.js";
import { validateSubmit } from "../../src/apixo/validate.js";
import { AllowList } from "../../src/net/addresses.js";

function model(name: string): ModelSpec {
  const spec = findModel(name);
  if (spec === undefined) throw new Error(`unknown model ${name}`);
  return spec;
}

const nano = model("nano-banana");

function failure(spec: ModelSpec | undefined, body: unknown): { field: string; message: string } {
  const result = validateSubmit(spec, body);
  if (result.ok) throw new Error("expected the body to be refused");
  return { field: result.field, message: result.message };
}

describe("validateSubmit: body shape", () => {
  it.each([null, "text", 3, [{ input: {} }]])("refuses a body that is not an object (%j)", (body) => {
    expect(failure(nano, body)).toEqual({
      field: "body",
      message: 'body must be a JSON object with an "input" object.',
    });
  });

  it("refuses a body without input", () => {
    expect(failure(nano, { prompt: "x" })).toEqual({
      field: "input",
      message: 'body must be a JSON object with an "input" object.',
    });
  });

  it("refuses an input that is not an object, naming its type", () => {
    expect(failure(nano, { input: ["a"] })).toEqual({
      field: "input",
      message: "input must be a JSON object; got an array.",
    });
    expect(failure(nano, { input: "a cat" })).toEqual({
      field: "input",
      message: "input must be a JSON object; got a string.",
    });
  });
});

describe("validateSubmit: prompt", () => {
  it("requires a prompt where the model does", () => {
    expect(failure(nano, { input: {} })).toEqual({
      field: "input.prompt",
      message: "input.prompt is required for nano-banana; give the text to generate from.",
    });
  });

  it("does not require a prompt for a model it does not know", () => {
    expect(validateSubmit(undefined, { input: {} })).toEqual({ ok: true, requestType: "async" });
  });

  it("refuses a prompt that is not a string", () => {
    expect(failure(nano, { input: { prompt: 12 } })).toEqual({
      field: "input.prompt",
      message: "input.prompt must be a string; got a number.",
    });
  });

  it("refuses an empty or whitespace-only prompt", () => {
    expect(failure(undefined, { input: { prompt: " \n\t" } })).toEqual({
      field: "input.prompt",
      message: "input.prompt must not be empty or only whitespace.",
    });
  });

  it("refuses a prompt over the model's limit, naming length and limit", () => {
    expect(failure(nano, { input: { prompt: "a".repeat(5213) } })).toEqual({
      field: "input.prompt",
      message: "input.prompt is 5213 characters; nano-banana accepts at most 5000.",
    });
  });

  it("accepts a prompt exactly at the limit, counting an emoji as one character", () => {
    expect(validateSubmit(nano, { input: { prompt: "a".repeat(5000) } }).ok).toBe(true);
    expect(validateSubmit(nano, { input: { prompt: "😀".repeat(5000) } }).ok).toBe(true);
  });

  it("uses the model's own limit (gpt-image-2: 20000) and 5000 for unknown models", () => {
    expect(validateSubmit(model("gpt-image-2"), { input: { prompt: "a".repeat(20_000) } }).ok).toBe(true);
    expect(failure(undefined, { input: { prompt: "a".repeat(5001) } }).message).toBe(
      "input.prompt is 5001 characters; this model accepts at most 5000.",
    );
  });
});

describe("validateSubmit: image_urls", () => {
  const withUrls = (urls: unknown): unknown => ({ input: { prompt: "p", image_urls: urls } });

  it("refuses image_urls that is not an array", () => {
    expect(failure(nano, withUrls("https://x.test/a.png"))).toEqual({
      field: "input.image_urls",
      message: "input.image_urls must be an array of http(s) URLs; got a string.",
    });
  });

  it("refuses more URLs than the model takes", () => {
    const six = Array.from({ length: 6 }, (_, i) => `https://x.test/${i}.png`);
    expect(failure(nano, withUrls(six))).toEqual({
      field: "input.image_urls",
      message: "input.image_urls has 6 URLs; nano-banana accepts at most 5.",
    });
    expect(failure(model("suno"), withUrls(["https://x.test/a.png"])).message).toBe(
      "input.image_urls has 1 URL; suno takes no input.image_urls.",
    );
  });

  it.each([["ftp://x.test/a.png"], ["javascript:alert(1)"], ["https://"], ["not a url"], [42]])(
    "refuses %j, naming its index",
    (bad) => {
      expect(failure(nano, withUrls(["https://x.test/a.png", "http://x.test/b.png", bad]))).toEqual({
        field: "input.image_urls[2]",
        message: "input.image_urls[2] must be an http(s) URL.",
      });
    },
  );

  it("requires image_urls for a mode that needs them", () => {
    expect(failure(model("flux2"), { input: { prompt: "a fox", mode: "pro-image-to-image" } })).toEqual({
      field: "input.image_urls",
      message:
        'input.image_urls is required when input.mode is "pro-image-to-image"; give 1 to 8 http(s) URLs.',
    });
  });

  it("accepts URLs up to the model's limit", () => {
    const five = Array.from({ length: 5 }, (_, i) => `HTTPS://x.test/${i}.png?a=1`);
    expect(validateSubmit(nano, withUrls(five)).ok).toBe(true);
  });
});

describe("validateSubmit: request_type and callback_url", () => {
  it("refuses an unknown request_type", () => {
    expect(failure(nano, { request_type: "sync", input: { prompt: "p" } })).toEqual({
      field: "request_type",
      message: 'request_type must be "async" or "callback"; got "sync".',
    });
    expect(failure(nano, { request_type: 1, input: { prompt: "p" } }).message).toBe(
      'request_type must be "async" or "callback"; got a number.',
    );
  });

  it("requires callback_url when request_type is callback", () => {
    expect(failure(nano, { request_type: "callback", input: { prompt: "p" } })).toEqual({
      field: "callback_url",
      message: 'callback_url is required when request_type is "callback".',
    });
  });

  it("refuses a callback_url that is not an http(s) URL", () => {
    expect(failure(nano, { request_type: "callback", callback_url: 7, input: { prompt: "p" } })).toEqual({
      field: "callback_url",
      message: "callback_url must be an http(s) URL.",
    });
  });

  it("returns the request type, callback URL and prompt of a valid callback request", () => {
    const body = {
      request_type: "callback",
      callback_url: "https://hooks.example.com/apixo",
      provider: "auto",
      input: { prompt: "a cat", aspect_ratio: "16:9", unknown_field: { nested: true } },
    };
    expect(validateSubmit(nano, body)).toEqual({
      ok: true,
      requestType: "callback",
      callbackUrl: "https://hooks.example.com/apixo",
      prompt: "a cat",
    });
  });

  it("defaults to async and ignores a callback_url that async requests do not use", () => {
    expect(validateSubmit(nano, { callback_url: 5, input: { prompt: "p" } })).toEqual({
      ok: true,
      requestType: "async",
      prompt: "p",
    });
  });
});

describe("validateSubmit: media URLs APIXO would fetch", () => {
  const body = (input: Record<string, unknown>): unknown => ({ input: { prompt: "p", ...input } });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "image_urls",
      { image_urls: ["https://cdn.example/a.png", "http://127.0.0.1/b.png"] },
      "input.image_urls[1]",
    ],
    ["image_url (older docs)", { image_url: "http://10.0.0.5/a.png" }, "input.image_url"],
    ["video_urls", { video_urls: ["http://[::1]/clip.mp4"] }, "input.video_urls[0]"],
    [
      "audio_urls",
      { audio_urls: ["https://cdn.example/a.mp3", "http://localhost/b.mp3"] },
      "input.audio_urls[1]",
    ],
    ["mask_url", { mask_url: "http://169.254.169.254/latest/meta-data" }, "input.mask_url"],
    ["camel-case imageUrls", { imageUrls: ["http://192.168.0.10/a.png"] }, "input.imageUrls[0]"],
    [
      "a nested url field",
      { reference: { tail_image_url: "http://100.64.0.1/t.png" } },
      "input.reference.tail_image_url",
    ],
    ["a url inside a list of objects", { refs: [{ url: "http://[fd00::1]/a.png" }] }, "input.refs[0].url"],
    [
      "a LoRA path",
      { loras: [{ path: "http://10.1.1.1/lora.safetensors", scale: 1 }] },
      "input.loras[0].path",
    ],
    ["a decimal IPv4 spelling", { video_urls: ["http://2130706433/clip.mp4"] }, "input.video_urls[0]"],
    ["a non-http scheme", { audio_urls: ["file:///etc/passwd"] }, "input.audio_urls[0]"],
    ["a value that is not a string", { mask_url: 42 }, "input.mask_url"],
  ])("refuses a private or unusable URL in %s, naming the field", (_what, input, field) => {
    const refused = failure(undefined, body(input));
    expect(refused.field).toBe(field);
    expect(refused.message.startsWith(`${field} `)).toBe(true);
  });

  it("says where the URL points and how an operator allows it", () => {
    expect(failure(nano, body({ image_urls: ["http://127.0.0.1/a.png"] })).message).toBe(
      "input.image_urls[0] points at 127.0.0.1, a loopback address; media URLs are fetched by APIXO and must be " +
        "on the public internet (an operator can allow a network in governance.mediaUrls.allowPrivateNetworks).",
    );
  });

  it("quotes a key that is not a plain name instead of echoing its bytes", () => {
    expect(failure(undefined, body({ "\u0000x\u00e9_url": "http://127.0.0.1/" })).field).toBe(
      'input["\\u0000x?_url"]',
    );
  });

  it("accepts public URLs in every media field, and null for an absent one", () => {
    const input = {
      image_urls: ["https://cdn.example/a.png"],
      image_url: "https://cdn.example/b.png",
      video_urls: ["https://cdn.example/c.mp4"],
      audio_urls: ["https://[2606:4700::1111]/d.mp3"],
      mask_url: null,
      loras: [{ path: "https://huggingface.co/x/lora.safetensors", scale: 0.8 }],
      description: "http://127.0.0.1 is only text here",
    };
    expect(validateSubmit(undefined, body(input)).ok).toBe(true);
  });

  it("lets through the private networks the operator allowed, and only those", () => {
    const media = { allowList: new AllowList(["10.0.0.0/8", "minio.internal"]) };
    const allowed = body({
      image_urls: ["http://10.1.2.3:9000/b/a.png"],
      mask_url: "http://minio.internal/m.png",
    });
    expect(validateSubmit(undefined, allowed, media).ok).toBe(true);
    const refused = validateSubmit(undefined, body({ image_urls: ["http://192.168.1.1/a.png"] }), media);
    expect(refused).toMatchObject({ ok: false, field: "input.image_urls[0]" });
  });

  it("walks a deeply nested input without exhausting the stack", () => {
    let deep: unknown = { mask_url: "http://127.0.0.1/" };
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const refused = failure(undefined, body({ deep }));
    expect(refused.message).toMatch(/loopback/);
    expect(refused.field.length).toBeLessThanOrEqual(201);
    expect(refused.field).toMatch(/^input\.deep\[0\]\[0\].*…$/);
  });
});
