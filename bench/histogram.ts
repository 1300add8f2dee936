import { build, type Histogram } from "hdr-histogram-js";

/** Latencies in microseconds, 1 us to 60 s, 3 significant digits. */
export function newHistogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

export function percentiles(h: Histogram): Percentiles {
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(h.mean),
  };
}

/** Microseconds from a performance.now() interval, clamped into the histogram's range. */
export function micros(fromMs: number, toMs: number): number {
  return Math.min(60_000_000, Math.max(1, Math.round((toMs - fromMs) * 1000)));
}
