import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ tenants: [{ id: "acme", dailyCapUsd: 10 }] });
});
afterAll(async () => {
  await harness.close();
});

const today = (): string => new Date().toISOString().slice(0, 10);

async function submit(h: Harness, model: string, body: string) {
  const response = await fetch(`${h.url}/api/v1/generateTask/${model}`, {
    method: "POST",
    headers: { ...h.auth("acme"), "content-type": "application/json" },
    body,
  });
  const envelope = (await response.json()) as { code: number; message: string; error?: { type: string } };
  return { status: response.status, envelope };
}

/** [what, model, input, the field the message must name, what the message must say] */
const PRIVATE: [string, string, Record<string, unknown>, string, RegExp][] = [
  ["loopback", "nano-banana", { image_urls: ["http://127.0.0.1/a.png"] }, "input.image_urls[0]", /loopback/],
  [
    "10/8",
    "nano-banana",
    { image_urls: ["https://cdn.example/a.png", "http://10.0.0.5/b.png"] },
    "input.image_urls[1]",
    /private/,
  ],
  ["172.16/12", "nano-banana", { image_urls: ["http://172.20.1.1/a.png"] }, "input.image_urls[0]", /private/],
  [
    "192.168/16",
    "nano-banana",
    { image_urls: ["http://192.168.1.10/a.png"] },
    "input.image_urls[0]",
    /private/,
  ],
  [
    "cloud metadata",
    "nano-banana",
    { image_urls: ["http://169.254.169.254/latest/meta-data/"] },
    "input.image_urls[0]",
    /cloud metadata/,
  ],
  [
    "link-local",
    "nano-banana",
    { image_urls: ["http://169.254.10.10/a.png"] },
    "input.image_urls[0]",
    /link-local/,
  ],
  [
    "CGNAT",
    "nano-banana",
    { image_urls: ["http://100.64.1.1/a.png"] },
    "input.image_urls[0]",
    /carrier-grade NAT/,
  ],
  [
    "unspecified",
    "nano-banana",
    { image_urls: ["http://0.0.0.0:8080/a.png"] },
    "input.image_urls[0]",
    /unspecified/,
  ],
  [
    "localhost",
    "nano-banana",
    { image_urls: ["http://localhost:9000/a.png"] },
    "input.image_urls[0]",
    /\.localhost/,
  ],
  [
    "a localhost subdomain",
    "nano-banana",
    { image_urls: ["http://cdn.localhost/a.png"] },
    "input.image_urls[0]",
    /\.localhost/,
  ],
  ["IPv6 loopback", "nano-banana", { image_urls: ["http://[::1]/a.png"] }, "input.image_urls[0]", /loopback/],
  [
    "IPv4-mapped",
    "nano-banana",
    { image_urls: ["http://[::ffff:127.0.0.1]/a.png"] },
    "input.image_urls[0]",
    /IPv4-mapped/,
  ],
  [
    "IPv4-compatible",
    "nano-banana",
    { image_urls: ["http://[::10.0.0.1]/a.png"] },
    "input.image_urls[0]",
    /IPv4-compatible/,
  ],
  [
    "6to4",
    "nano-banana",
    { image_urls: ["http://[2002:a9fe:a9fe::1]/a.png"] },
    "input.image_urls[0]",
    /6to4/,
  ],
  [
    "NAT64",
    "nano-banana",
    { image_urls: ["http://[64:ff9b::7f00:1]/a.png"] },
    "input.image_urls[0]",
    /NAT64/,
  ],
  [
    "local-use NAT64",
    "nano-banana",
    { image_urls: ["http://[64:ff9b:1::1]/a.png"] },
    "input.image_urls[0]",
    /local-use NAT64/,
  ],
  [
    "Teredo",
    "nano-banana",
    { image_urls: ["http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/a.png"] },
    "input.image_urls[0]",
    /Teredo/,
  ],
  [
    "unique-local IPv6",
    "nano-banana",
    { image_urls: ["http://[fd00:ec2::254]/a.png"] },
    "input.image_urls[0]",
    /metadata/,
  ],
  [
    "decimal IPv4",
    "nano-banana",
    { image_urls: ["http://2130706433/a.png"] },
    "input.image_urls[0]",
    /non-standard/,
  ],
  [
    "hex IPv4",
    "nano-banana",
    { image_urls: ["http://0x7f.0.0.1/a.png"] },
    "input.image_urls[0]",
    /non-standard/,
  ],
  [
    "octal IPv4",
    "nano-banana",
    { image_urls: ["http://0177.0.0.1/a.png"] },
    "input.image_urls[0]",
    /non-standard/,
  ],
  ["image_url", "flux-kontext", { image_url: "http://10.1.1.1/a.png" }, "input.image_url", /private/],
  ["video_urls", "kling-2-6", { video_urls: ["http://[::1]/clip.mp4"] }, "input.video_urls[0]", /loopback/],
  ["audio_urls", "wan-2-5", { audio_urls: ["http://192.168.0.2/a.mp3"] }, "input.audio_urls[0]", /private/],
  [
    "mask_url",
    "nano-banana",
    { mask_url: "http://metadata.google.internal/x" },
    "input.mask_url",
    /\.internal/,
  ],
  [
    "loras[].path",
    "ltx-2-19b",
    { loras: [{ path: "http://10.9.9.9/l.safetensors", scale: 1 }] },
    "input.loras[0].path",
    /private/,
  ],
  [
    "a non-http scheme",
    "kling-2-6",
    { video_urls: ["file:///etc/passwd"] },
    "input.video_urls[0]",
    /http\(s\)/,
  ],
];

describe("media URLs into private networks are refused before any money is reserved", () => {
  it.each(PRIVATE)("refuses %s with 400 naming the field", async (_what, model, input, field, why) => {
    const before = harness.simulator.stats.count();
    const { status, envelope } = await submit(
      harness,
      model,
      JSON.stringify({ input: { prompt: "x", ...input } }),
    );
    expect(status).toBe(400);
    expect(envelope.code).toBe(400);
    expect(envelope.error?.type).toBe("INVALID_REQUEST");
    expect(envelope.message.startsWith(`${field} `)).toBe(true);
    expect(envelope.message).toMatch(why);
    expect(harness.simulator.stats.count()).toBe(before);
    expect(await harness.gateway.store.snapshot("acme", today())).toMatchObject({
      spentMicros: 0,
      inFlight: 0,
    });
  });

  it("forwards public media URLs byte for byte", async () => {
    const body =
      '{"input":{"prompt":"x","mode":"image-to-image","image_urls":["https://cdn.example/a.png","http://93.184.216.34/b.png","https://[2606:4700::1111]/c.png"]}}';
    const { status } = await submit(harness, "nano-banana", body);
    expect(status).toBe(200);
    expect(harness.simulator.stats.requests.at(-1)?.body.toString()).toBe(body);
  });
});

describe("governance.mediaUrls.allowPrivateNetworks", () => {
  it("lets through exactly the networks and names the operator listed", async () => {
    const allowing = await startHarness({
      tenants: [{ id: "acme", dailyCapUsd: 10 }],
      config: { governance: { mediaUrls: { allowPrivateNetworks: ["10.0.0.0/8", "minio.internal"] } } },
    });
    try {
      const allowed = await submit(
        allowing,
        "nano-banana",
        '{"input":{"prompt":"x","image_urls":["http://10.1.2.3:9000/b/a.png","http://minio.internal/b/c.png"]}}',
      );
      expect(allowed.status).toBe(200);
      expect(allowing.simulator.stats.count("generateTask")).toBe(1);
      const refused = await submit(
        allowing,
        "nano-banana",
        '{"input":{"prompt":"x","image_urls":["http://192.168.1.1/a.png"]}}',
      );
      expect(refused.status).toBe(400);
      expect(refused.envelope.message).toMatch(/input\.image_urls\[0\].*allowPrivateNetworks/);
      expect(allowing.simulator.stats.count("generateTask")).toBe(1);
    } finally {
      await allowing.close();
    }
  });
});
