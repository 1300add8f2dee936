import { encodeIntoCompressedBase64 } from "hdr-histogram-js";
import { percentiles, type Percentiles } from "./histogram.js";
import type { LoadResult } from "./load.js";

/** CPU microseconds per request of each process during one phase (undefined: no such process). */
export interface CpuPerRequest {
  readonly gateway: number | undefined;
  readonly simulator: number;
  readonly redis: number;
  /** Redis script calls (EVALSHA/EVAL) per request: the store round trips. */
  readonly redisScriptsPerRequest: number;
  /** The gateway's CPU use during the phase, in cores (1.0 = one core busy). */
  readonly gatewayCores: number | undefined;
}

export interface PhaseReport {
  readonly durationSec: number;
  readonly requests: number;
  readonly errors: number;
  readonly errorSamples: string[];
  readonly byKind: { submit: number; status: number };
  readonly achievedRps: number;
  /** us; from intended send time in the fixed-rate phase, from actual send time at saturation. */
  readonly latency: Percentiles;
  readonly service: Percentiles;
  readonly schedulerLag: Percentiles;
  readonly cpuPerRequestUs: CpuPerRequest;
  /** The latency histogram, HdrHistogram compressed base64 (decode with any HdrHistogram library). */
  readonly latencyHistogram: string;
}

export interface ScenarioReport {
  readonly name: string;
  readonly description: string;
  readonly tenants: number | undefined;
  readonly tracing: boolean;
  fixed?: PhaseReport & { readonly ratePerSec: number };
  saturation?: PhaseReport & { readonly concurrency: number };
  /** Added latency over the direct path at the same percentiles (us), fixed-rate phase. */
  added?: { latency: Delta; service: Delta };
  peakRssBytes?: number;
  heapUsedBytes?: number;
  auditLogBytes?: number;
  traceExport?: { exports: number; bytes: number };
}

export interface Delta {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

export function phaseReport(result: LoadResult, cpu: CpuPerRequest): PhaseReport {
  return {
    durationSec: Math.round(result.elapsedMs) / 1000,
    requests: result.requests,
    errors: result.errors,
    errorSamples: result.errorSamples,
    byKind: result.byKind,
    achievedRps: Math.round((result.requests / result.elapsedMs) * 1000 * 10) / 10,
    latency: percentiles(result.latency),
    service: percentiles(result.service),
    schedulerLag: percentiles(result.lag),
    cpuPerRequestUs: cpu,
    latencyHistogram: encodeIntoCompressedBase64(result.latency),
  };
}

export function delta(a: Percentiles, b: Percentiles): Delta {
  return { p50: b.p50 - a.p50, p90: b.p90 - a.p90, p99: b.p99 - a.p99, p999: b.p999 - a.p999 };
}

const ms = (us: number | undefined): string => (us === undefined ? "-" : (us / 1000).toFixed(3));
const num = (n: number | undefined, digits = 0): string => (n === undefined ? "-" : n.toFixed(digits));
const mb = (bytes: number | undefined): string => (bytes === undefined ? "-" : (bytes / 1048576).toFixed(0));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The human table: one row per scenario. Latencies in ms with us resolution. */
export function formatScenarios(scenarios: readonly ScenarioReport[]): string {
  const rate = scenarios.find((s) => s.fixed !== undefined)?.fixed?.ratePerSec ?? 0;
  const latencyRows = scenarios.map((s) => {
    const l = s.fixed?.latency;
    return [
      s.name,
      num(s.saturation?.achievedRps),
      ms(l?.p50),
      ms(l?.p90),
      ms(l?.p99),
      ms(l?.p999),
      ms(s.added?.latency.p50),
      ms(s.added?.latency.p90),
      ms(s.added?.latency.p99),
      ms(s.added?.latency.p999),
      num(s.fixed?.cpuPerRequestUs.gateway),
      num(s.saturation?.cpuPerRequestUs.gateway),
      mb(s.peakRssBytes),
      String((s.fixed?.errors ?? 0) + (s.saturation?.errors ?? 0)),
    ];
  });
  const serviceRows = scenarios.map((s) => {
    const l = s.fixed?.service;
    return [
      s.name,
      ms(l?.p50),
      ms(l?.p90),
      ms(l?.p99),
      ms(l?.p999),
      ms(s.added?.service.p50),
      ms(s.added?.service.p99),
      num(s.fixed?.cpuPerRequestUs.simulator),
      num(s.fixed?.cpuPerRequestUs.redis),
      num(s.fixed?.cpuPerRequestUs.gatewayCores, 2),
      num(s.fixed?.cpuPerRequestUs.redisScriptsPerRequest, 2),
    ];
  });
  return [
    `Latency at a fixed ${rate} req/s (open loop, from intended send time), ms; added = minus direct; CPU in us/request`,
    table(
      [
        "scenario",
        "sat rps",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "+p50",
        "+p90",
        "+p99",
        "+p99.9",
        "cpu@rate",
        "cpu@sat",
        "peakRSS MB",
        "errors",
      ],
      latencyRows,
    ),
    "",
    "Service time (from actual send), ms; CPU of the other processes at the fixed rate, us/request",
    table(
      [
        "scenario",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "+p50",
        "+p99",
        "sim cpu",
        "redis cpu",
        "gw cores",
        "redis scripts/req",
      ],
      serviceRows,
    ),
  ].join("\n");
}
