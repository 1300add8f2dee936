import { performance } from "node:perf_hooks";
import { scrapeGauge, type MeasuredProcess } from "./gateway.js";
import { percentiles, type Percentiles } from "./histogram.js";
import { openLoop, type Client } from "./load.js";
import { cpuMicros, memory } from "./procs.js";

export interface SoakSample {
  readonly atSec: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number | undefined;
  readonly cpuUsPerRequest: number | undefined;
  readonly requests: number;
}

export interface SoakReport {
  readonly rate: number;
  readonly durationSec: number;
  readonly requests: number;
  readonly errors: number;
  readonly latency: Percentiles;
  readonly samples: SoakSample[];
  /** Least-squares slope over the second half of the run (after warm-up), MB per minute. */
  readonly rssSlopeMbPerMin: number;
  readonly heapSlopeMbPerMin: number | undefined;
  readonly summary: string;
}

function slopePerMin(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxx === 0 ? 0 : ((sxy / sxx) * 60) / 1048576;
}

/** A long fixed-rate run with the gateway's RSS and V8 heap sampled every few seconds, to catch leaks. */
export async function runSoak(options: {
  client: Client;
  gateway: MeasuredProcess;
  rate: number;
  durationSec: number;
  sampleEverySec: number;
}): Promise<SoakReport> {
  const { client, gateway, rate, durationSec, sampleEverySec } = options;
  const pid = gateway.proc.pid;
  const samples: SoakSample[] = [];
  const started = performance.now();
  let lastCpu = cpuMicros(pid);
  let lastRequests = 0;
  let requestsSoFar = 0;
  const sample = async (): Promise<void> => {
    const cpu = cpuMicros(pid);
    const requests = requestsSoFar;
    const heap = await scrapeGauge(gateway.metricsUrl, "nodejs_heap_size_used_bytes");
    const done = requests - lastRequests;
    samples.push({
      atSec: Math.round((performance.now() - started) / 100) / 10,
      rssBytes: memory(pid).rssBytes,
      heapUsedBytes: heap,
      cpuUsPerRequest: done > 0 ? Math.round(((cpu - lastCpu) / done) * 10) / 10 : undefined,
      requests,
    });
    lastCpu = cpu;
    lastRequests = requests;
  };
  // The load runs in one-sample slices so the request count is known at every sample.
  const latency = [];
  let errors = 0;
  await sample();
  for (let t = 0; t < durationSec; t += sampleEverySec) {
    const slice = await openLoop(client, rate, Math.min(sampleEverySec, durationSec - t));
    requestsSoFar += slice.requests;
    errors += slice.errors;
    latency.push(slice.latency);
    await sample();
  }
  const merged = latency[0]!;
  for (const h of latency.slice(1)) merged.add(h);
  const half = samples.slice(Math.floor(samples.length / 2));
  const rssSlope = slopePerMin(half.map((s) => [s.atSec, s.rssBytes]));
  const heapPoints = half
    .filter((s) => s.heapUsedBytes !== undefined)
    .map((s): [number, number] => [s.atSec, s.heapUsedBytes!]);
  const heapSlope = heapPoints.length >= 2 ? slopePerMin(heapPoints) : undefined;
  const lines = [
    `soak: ${durationSec}s at ${rate}/s, ${requestsSoFar} requests, ${errors} errors`,
    "    t(s)   RSS MB  heap MB  cpu us/req",
    ...samples.map(
      (s) =>
        `${s.atSec.toFixed(0).padStart(8)} ${(s.rssBytes / 1048576).toFixed(1).padStart(8)} ${s.heapUsedBytes === undefined ? "       -" : (s.heapUsedBytes / 1048576).toFixed(1).padStart(8)} ${s.cpuUsPerRequest === undefined ? "-" : s.cpuUsPerRequest.toFixed(0).padStart(11)}`,
    ),
    `slope over the second half: RSS ${rssSlope.toFixed(3)} MB/min, heap ${heapSlope === undefined ? "n/a" : heapSlope.toFixed(3)} MB/min`,
  ];
  return {
    rate,
    durationSec,
    requests: requestsSoFar,
    errors,
    latency: percentiles(merged),
    samples,
    rssSlopeMbPerMin: Math.round(rssSlope * 1000) / 1000,
    heapSlopeMbPerMin: heapSlope === undefined ? undefined : Math.round(heapSlope * 1000) / 1000,
    summary: lines.join("\n"),
  };
}
