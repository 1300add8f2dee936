import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors/catalog.js";
import { parseJsonBody } from "../../src/routes/jsonBody.js";
import { duplicateMemberName } from "../../src/routes/jsonDuplicates.js";

function refusal(body: Buffer): string {
  try {
    parseJsonBody(body);
  } catch (err) {
    if (err instanceof GatewayError && err.type === "INVALID_REQUEST") return err.message;
    throw err;
  }
  throw new Error("not refused");
}

const wrap = (...bytes: number[]): Buffer =>
  Buffer.concat([Buffer.from('{"input":{"prompt":"a'), Buffer.from(bytes), Buffer.from('"}}')]);

describe("a governed body is UTF-8 JSON text, read the one way APIXO can read it", () => {
  it("parses UTF-8 JSON, multi-byte characters included", () => {
    expect(parseJsonBody(Buffer.from('{"input":{"prompt":"café 🐈"}}'))).toEqual({
      input: { prompt: "café 🐈" },
    });
  });

  it("refuses bytes that are not UTF-8, without quoting them", () => {
    for (const [what, body] of [
      ["a bad continuation byte", wrap(0xc3, 0x28)],
      ["a lone continuation byte", wrap(0x80)],
      ["an overlong '/'", wrap(0xc0, 0xaf)],
      ["an overlong NUL", wrap(0xe0, 0x80, 0x80)],
      ["a UTF-8-encoded surrogate", wrap(0xed, 0xa0, 0x80)],
      ["a truncated sequence", wrap(0xe2, 0x82)],
      ["a code point above U+10FFFF", wrap(0xf4, 0x90, 0x80, 0x80)],
      ["0xFF", wrap(0xff)],
      ["Latin-1 text", Buffer.from('{"input":{"prompt":"caf\xe9"}}', "latin1")],
    ] as const) {
      const message = refusal(body);
      expect(message, what).toMatch(/not UTF-8 text/);
      expect(message, what).not.toMatch(/[\x80-\uffff]/);
    }
  });

  it("refuses UTF-16 and UTF-32 text, which is valid UTF-8 only by way of NUL bytes", () => {
    expect(refusal(Buffer.from('{"input":{}}', "utf16le"))).toMatch(/NUL bytes.*UTF-8/);
  });

  it("refuses a byte order mark (RFC 8259 lets a reader either ignore or refuse it)", () => {
    expect(refusal(Buffer.from('\uFEFF{"input":{}}'))).toMatch(/byte order mark/);
  });

  it("refuses text that is not JSON, describing where without echoing the body", () => {
    for (const [body, reason] of [
      ["", /empty/],
      ["{", /Expected property name/],
      ['{"input":}', /unexpected character/],
      ['{"input":{}}x', /non-whitespace character after JSON at character 12/],
      ["{'input':{}}", /Expected property name/],
      ['{"input":{},}', /Expected double-quoted property name/],
      ['{"input":"\u0001"}', /Bad control character/],
    ] as const) {
      const message = refusal(Buffer.from(body));
      expect(message, body).toMatch(reason);
      if (body.length > 2) expect(message, body).not.toContain(body);
    }
  });

  it("refuses an object with a member twice, which parsers resolve differently", () => {
    expect(refusal(Buffer.from('{"input":{"duration":4},"input":{"duration":15}}'))).toMatch(
      /member "input" twice/,
    );
    expect(refusal(Buffer.from('{"input":{"prompt":"a","prompt":"b"}}'))).toMatch(/"prompt" twice/);
    // The same name, escaped: still the same member.
    expect(refusal(Buffer.from('{"input":{},"\\u0069nput":{}}'))).toMatch(/"input" twice/);
  });
});

describe("duplicate member names are found in any object, and only within one object", () => {
  it("tells names from values and keeps each object's names apart", () => {
    expect(duplicateMemberName('{"a":"a","b":["a","a"],"c":{"a":1},"d":[{"a":1},{"a":2}]}')).toBeUndefined();
    expect(duplicateMemberName('[{"a":1,"b":{"c":1,"c":2}}]')).toBe('"c"');
    expect(duplicateMemberName('{"a\\"b":1,"a\\"b":2}')).toBe('"a"b"');
    expect(duplicateMemberName('{"x":{},"y":[],"x":0}')).toBe('"x"');
  });

  it("scans deep nesting without recursion", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(duplicateMemberName(deep)).toBeUndefined();
  });
});
