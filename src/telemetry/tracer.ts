import type { IncomingHttpHeaders } from "node:http";
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Span,
} from "@opentelemetry/api";
import type { RequestRecord } from "./events.js";

/** A span as the rest of the gateway holds it: opaque, and undefined whenever tracing is off. */
export type TraceSpan = Span;

/**
 * The tracing port. Everything that makes spans gets one injected (the composition root chooses): the noop one
 * while tracing is off, so the request path pays one call that returns undefined, and the OpenTelemetry one
 * once an SDK is registered (tracing.ts).
 */
export interface Tracer {
  /** The one server span of a request, continuing the client's trace when it sent a `traceparent`. */
  requestSpan(method: string, headers: IncomingHttpHeaders): TraceSpan | undefined;
  /** Runs `fn` with `span` active, so child spans and `inject` find it. */
  run<T>(span: TraceSpan | undefined, fn: () => T): T;
  /** Names, attributes and ends the server span from the same record the audit line is written from. */
  endRequest(span: TraceSpan | undefined, record: RequestRecord): void;
  /** A child of the active span. */
  child(name: string, attributes: Attributes): TraceSpan | undefined;
  /** The client span of one exchange with APIXO; APIXO receives `traceparent` for it. */
  upstream(
    baseUrl: string,
    method: string,
    apixo: { readonly operation: string; readonly model: string | undefined },
  ): TraceSpan | undefined;
  /** A span around one store call. */
  store(operation: string): TraceSpan | undefined;
  end(span: TraceSpan | undefined, error?: string, attributes?: Attributes): void;
  /** Writes `traceparent` (and `tracestate`) for the active span into the headers of an upstream request. */
  inject(headers: Record<string, string>): void;
  traceId(span: TraceSpan | undefined): string | undefined;
}

export const noopTracer: Tracer = {
  requestSpan: () => undefined,
  run: (_span, fn) => fn(),
  endRequest: () => undefined,
  child: () => undefined,
  upstream: () => undefined,
  store: () => undefined,
  end: () => undefined,
  inject: () => undefined,
  traceId: () => undefined,
};

export const TRACER_NAME = "apixo-gateway";

/** `server.address` / `server.port` of the upstream base URL, parsed once per URL. */
function serverAttributes(servers: Map<string, Attributes>, baseUrl: string): Attributes {
  let attributes = servers.get(baseUrl);
  if (attributes === undefined) {
    const url = new URL(baseUrl);
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
    attributes = { "server.address": url.hostname, "server.port": port };
    servers.set(baseUrl, attributes);
  }
  return attributes;
}

function requestAttributes(record: RequestRecord): Attributes {
  const attributes: Attributes = {
    "http.response.status_code": record.status,
    "apixo.request_id": record.requestId,
    "apixo.operation": record.operation,
    "apixo.upstream_ms": record.upstreamMs,
  };
  if (record.tenant !== undefined) attributes["apixo.tenant"] = record.tenant;
  if (record.model !== undefined) attributes["apixo.model"] = record.model;
  if (record.taskId !== undefined) attributes["apixo.task_id"] = record.taskId;
  if (record.costMicros !== undefined) attributes["apixo.cost_usd"] = record.costMicros / 1e6;
  if (record.refundedMicros !== undefined) attributes["apixo.refund_usd"] = record.refundedMicros / 1e6;
  if (record.taskState !== undefined) attributes["apixo.task_state"] = record.taskState;
  if (record.failCode !== undefined) attributes["apixo.fail_code"] = record.failCode;
  if (record.errorType !== undefined) attributes["apixo.error_type"] = record.errorType;
  return attributes;
}

/**
 * The gateway's own spans through `@opentelemetry/api` (the SDK behind it is started by tracing.ts). They are
 * made here rather than by the http and ioredis auto-instrumentations, which added a second span for every
 * APIXO call and store script for the same facts (docs/benchmarks.md).
 */
export function otelTracer(): Tracer {
  const tracer = trace.getTracer(TRACER_NAME);
  const servers = new Map<string, Attributes>();
  const child = (name: string, attributes: Attributes): Span =>
    tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
  return {
    requestSpan(method, headers) {
      const parent = propagation.extract(ROOT_CONTEXT, headers);
      return tracer.startSpan(
        `${method} gateway`,
        { kind: SpanKind.SERVER, attributes: { "http.request.method": method } },
        parent,
      );
    },
    run(span, fn) {
      if (span === undefined) return fn();
      return context.with(trace.setSpan(context.active(), span), fn);
    },
    endRequest(span, record) {
      if (span === undefined) return;
      span.updateName(`${record.method} ${record.operation}`);
      span.setAttributes(requestAttributes(record));
      // The decisions are collected on the request context as they are made; they become events at the end.
      for (const decision of record.decisions) span.addEvent(decision, { "apixo.decision": decision });
      if (record.status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorType ?? "upstream 5xx" });
      }
      span.end();
    },
    child,
    upstream(baseUrl, method, apixo) {
      const attributes: Attributes = {
        ...serverAttributes(servers, baseUrl),
        "http.request.method": method,
        "apixo.operation": apixo.operation,
      };
      if (apixo.model !== undefined) attributes["apixo.model"] = apixo.model;
      return tracer.startSpan("apixo.upstream", { kind: SpanKind.CLIENT, attributes });
    },
    store: (operation) => child(`apixo.store ${operation}`, { "apixo.store.operation": operation }),
    end(span, error, attributes) {
      if (span === undefined) return;
      if (attributes !== undefined) span.setAttributes(attributes);
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end();
    },
    inject(headers) {
      propagation.inject(context.active(), headers);
    },
    traceId: (span) => span?.spanContext().traceId,
  };
}
