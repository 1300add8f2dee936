import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HostResolver } from "../../src/callbacks/urlGuard.js";
import { freePort } from "./ports.js";
import { startHarness, type Harness, type HarnessOptions } from "./gatewayHarness.js";

/** A Standard Webhooks secret, as a tenant would be given one: whsec_ + base64 of 24 random bytes. */
export const CALLBACK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

export interface ReceivedDelivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly status: number;
}

/** A tenant's callback endpoint on loopback; `answer` decides each status (default 200). */
export interface Receiver {
  readonly url: string;
  readonly deliveries: ReceivedDelivery[];
  answer: (attempt: number) => number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const deliveries: ReceivedDelivery[] = [];
  const receiver = { answer: (_attempt: number) => 200 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = receiver.answer(deliveries.length + 1);
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks/apixo`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** Names tests resolve without DNS; anything else fails to resolve (no outside traffic). */
export const fakeResolver =
  (names: Readonly<Record<string, string>>): HostResolver =>
  (host) => {
    const address = names[host];
    if (address === undefined) return Promise.reject(new Error(`ENOTFOUND ${host}`));
    return Promise.resolve([{ address, family: address.includes(":") ? 6 : 4 }]);
  };

export interface CallbackHarnessOptions extends HarnessOptions {
  readonly callbacks?: Record<string, unknown>;
  readonly delivery?: Record<string, unknown>;
  readonly resolve?: HostResolver;
}

/**
 * The gateway on a known port (so `publicBaseUrl` can name it), callbacks on with fast retries, loopback
 * allow-listed for the test receiver, and tenant acme holding a callback secret.
 */
export async function startCallbackHarness(options: CallbackHarnessOptions = {}): Promise<Harness> {
  const port = await freePort();
  const sections = options.config ?? {};
  return startHarness({
    ...options,
    tenants: options.tenants ?? [{ id: "acme", callbackSecret: CALLBACK_SECRET }],
    config: {
      ...sections,
      server: { port, ...sections.server },
      callbacks: {
        publicBaseUrl: `http://127.0.0.1:${port}`,
        allowHttp: true,
        allowPrivateNetworks: ["127.0.0.1"],
        workerPollMs: 20,
        delivery: { timeoutMs: 1_000, attempts: 4, baseDelayMs: 20, maxDelayMs: 200, ...options.delivery },
        ...options.callbacks,
      },
    },
    gateway: {
      ...options.gateway,
      callbacks: {
        random: () => 1,
        ...options.gateway?.callbacks,
        ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
      },
    },
  });
}

export async function submitCallback(h: Harness, callbackUrl: string, prompt = "a cat", tenant = "acme") {
  const body = `{"request_type":"callback", "callback_url": ${JSON.stringify(callbackUrl)},"input":{"prompt":${JSON.stringify(prompt)}}}`;
  const response = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
    method: "POST",
    headers: { ...h.auth(tenant), "content-type": "application/json" },
    body,
  });
  const text = await response.text();
  const parsed = JSON.parse(text) as {
    data?: { taskId?: string } | null;
    error?: { type: string };
    message?: string;
  };
  return { status: response.status, body, text, parsed, taskId: parsed.data?.taskId };
}

/** Polls `check` until it returns true (bounded), for effects of background work. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The value of one series in the Prometheus text, 0 when absent. */
export async function metricValue(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  const text = await h.gateway.registry.metrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`apixo_gateway_${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.split(" ").pop());
  }
  return 0;
}
