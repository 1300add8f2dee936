import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { GATEWAY_VERSION } from "../version.js";
import { noopTracer, otelTracer, type Tracer } from "./tracer.js";

export interface TracingOptions {
  /** Defaults to process.env; the standard OTEL_* variables configure everything. */
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces the OTLP exporter (tests: an in-memory exporter); tracing then starts without an endpoint. */
  readonly spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  readonly enabled: boolean;
  /** The port to inject: the OpenTelemetry tracer when on, the noop one when off. */
  readonly tracer: Tracer;
  /** Flushes pending spans and stops the SDK; a no-op when tracing is off. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, tracer: noopTracer, shutdown: () => Promise.resolve() };

function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== "";
}

/** Tracing is on only when an OTLP endpoint is named (and the standard kill switch is not thrown). */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  return isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the OpenTelemetry SDK when OTEL_EXPORTER_OTLP_ENDPOINT is set: the gateway's own spans (tracer.ts), a
 * batch span processor, OTLP/HTTP export. Service name, headers, sampler and batch sizes
 * come from the standard variables (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, ...).
 * The SDK is imported only then, so a gateway without tracing never loads it.
 */
export async function startTracing(options: TracingOptions = {}): Promise<Tracing> {
  const env = options.env ?? process.env;
  if (options.spanProcessors === undefined && !tracingRequested(env)) return OFF;

  const [{ NodeSDK }, { BatchSpanProcessor }, { resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/resources"),
  ]);
  let spanProcessors = options.spanProcessors;
  if (spanProcessors === undefined) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    spanProcessors = [new BatchSpanProcessor(new OTLPTraceExporter())];
  }
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME === undefined || env.OTEL_SERVICE_NAME === ""
      ? { serviceName: "apixo-gateway" }
      : {}),
    // service.version: which build made a span (OTEL_RESOURCE_ATTRIBUTES still adds to or overrides it).
    resource: resourceFromAttributes({ [ATTR_SERVICE_VERSION]: GATEWAY_VERSION }),
    spanProcessors,
    // Traces only: prom-client owns metrics and pino owns logs, so the SDK must not start exporters for them.
    metricReaders: [],
    logRecordProcessors: [],
    // No auto-instrumentation: the gateway's own spans cover the call to APIXO (a client span) and every
    // store script; the http and ioredis instrumentations only added a second span for each (and patched
    // every socket write), which cost ~150 us of CPU per request in the bench (docs/benchmarks.md).
    instrumentations: [],
  });
  sdk.start();
  return {
    enabled: true,
    tracer: otelTracer(),
    async shutdown() {
      await sdk.shutdown();
    },
  };
}
