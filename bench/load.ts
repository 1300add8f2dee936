import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import type { Histogram } from "hdr-histogram-js";
import { micros, newHistogram } from "./histogram.js";
import { Mix, taskIdFrom, type RequestSource, type RequestSpec } from "./mix.js";

/** Where the load goes: the simulator directly, or a gateway; the authorization fits the target. */
export interface Target {
  readonly name: string;
  readonly url: string;
  readonly authorization: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  /** A few error samples ("status 429 on submit", "ECONNRESET"...), to say what went wrong. */
  readonly errorSamples: string[];
  readonly elapsedMs: number;
  readonly byKind: { submit: number; status: number };
  /** From the intended send time (open loop: corrected for coordinated omission); us. */
  readonly latency: Histogram;
  /** From the moment the request was actually written; us. */
  readonly service: Histogram;
  /** How late the scheduler sent requests (actual - intended); us. */
  readonly lag: Histogram;
}

/** One keep-alive client per target, reused across phases so connection setup is never measured. */
export class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512 });
  private readonly host: string;
  private readonly port: number;
  readonly mix: RequestSource;

  /** `mix`: what to send (default: the submit-and-poll mix). */
  constructor(
    readonly target: Target,
    mix: RequestSource = new Mix(),
  ) {
    this.mix = mix;
    const url = new URL(target.url);
    this.host = url.hostname;
    this.port = Number(url.port);
  }

  /** Sends one request of the mix; resolves with an error description or undefined on success. */
  send(spec: RequestSpec): Promise<string | undefined> {
    return new Promise((done) => {
      const headers: Record<string, string> = { authorization: this.target.authorization };
      if (spec.body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = String(spec.body.length);
      }
      const req = request(
        {
          host: this.host,
          port: this.port,
          method: spec.method,
          path: spec.path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const body = Buffer.concat(chunks);
            if (res.statusCode !== 200) {
              done(`status ${res.statusCode ?? 0} on ${spec.kind}: ${body.toString("utf8").slice(0, 200)}`);
              return;
            }
            if (spec.kind === "submit") {
              const taskId = taskIdFrom(body);
              if (taskId === undefined) {
                done("submit answer without taskId");
                return;
              }
              this.mix.submitted(taskId);
            }
            done(undefined);
          });
          res.on("error", (err) => {
            done(err.message);
          });
        },
      );
      req.on("error", (err) => {
        done(err.message);
      });
      req.end(spec.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function emptyResult(): Omit<LoadResult, "elapsedMs"> {
  return {
    requests: 0,
    errors: 0,
    errorSamples: [],
    byKind: { submit: 0, status: 0 },
    latency: newHistogram(),
    service: newHistogram(),
    lag: newHistogram(),
  };
}

function count(result: Omit<LoadResult, "elapsedMs">, spec: RequestSpec, error: string | undefined): void {
  const mutable = result as { requests: number; errors: number };
  mutable.requests += 1;
  result.byKind[spec.kind] += 1;
  if (error !== undefined) {
    mutable.errors += 1;
    if (result.errorSamples.length < 5) result.errorSamples.push(error);
  }
}

/**
 * Open loop: request i is due at start + i/rate whatever happened to earlier ones, and its latency counts from
 * that due time, so a stall shows up in every request it delayed (no coordinated omission).
 */
export async function openLoop(client: Client, ratePerSec: number, durationSec: number): Promise<LoadResult> {
  const result = emptyResult();
  const total = Math.round(ratePerSec * durationSec);
  const intervalMs = 1000 / ratePerSec;
  const start = performance.now() + 5;
  let i = 0;
  let outstanding = 0;
  await new Promise<void>((finished) => {
    const settle = (): void => {
      if (i >= total && outstanding === 0) finished();
    };
    const tick = (): void => {
      const now = performance.now();
      while (i < total && start + i * intervalMs <= now) {
        const intended = start + i * intervalMs;
        i += 1;
        const spec = client.mix.next();
        const sent = performance.now();
        result.lag.recordValue(micros(intended, sent));
        outstanding += 1;
        void client.send(spec).then((error) => {
          const end = performance.now();
          result.latency.recordValue(micros(intended, end));
          result.service.recordValue(micros(sent, end));
          count(result, spec, error);
          outstanding -= 1;
          settle();
        });
      }
      if (i >= total) {
        settle();
        return;
      }
      setTimeout(tick, Math.max(0, start + i * intervalMs - performance.now()));
    };
    tick();
  });
  return { ...result, elapsedMs: performance.now() - start };
}

/** Closed loop: `concurrency` workers each send the next request as soon as the previous one answered. */
export async function closedLoop(
  client: Client,
  concurrency: number,
  durationSec: number,
): Promise<LoadResult> {
  const result = emptyResult();
  const start = performance.now();
  const deadline = start + durationSec * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const spec = client.mix.next();
      const sent = performance.now();
      const error = await client.send(spec);
      const end = performance.now();
      result.latency.recordValue(micros(sent, end));
      result.service.recordValue(micros(sent, end));
      count(result, spec, error);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ...result, elapsedMs: performance.now() - start };
}
