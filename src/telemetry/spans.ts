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

/**
 * The gateway's own spans. Only `@opentelemetry/api` is imported here (the SDK is loaded by tracing.ts only
 * when tracing is on), and every helper returns at once while tracing is off, so the request path pays one
 * boolean check per request.
 */

export const TRACER_NAME = "apixo-gateway";

let enabled = false;

/** Called by startTracing once an SDK is registered; spans are not even started before that. */
export function setSpansEnabled(on: boolean): void {
  enabled = on;
}

const tracer = () => trace.getTracer(TRACER_NAME);

/**
 * The one server span of a request, continuing the client's trace when it sent a `traceparent`.
 * We make it ourselves rather than through the HTTP instrumentation so that it carries the apixo.* attributes
 * and exists however the `http` module was loaded.
 */
export function startRequestSpan(method: string, headers: IncomingHttpHeaders): Span | undefined {
  if (!enabled) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  return tracer().startSpan(
    `${method} gateway`,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": method } },
    parent,
  );
}

/** Runs `fn` (the rest of the middleware chain) with `span` active, so child spans find their parent. */
export function runInSpan<T>(span: Span | undefined, fn: () => T): T {
  if (span === undefined) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Names, attributes and ends the server span from the same record the audit line is written from. */
export function endRequestSpan(span: Span | undefined, record: RequestRecord): void {
  if (span === undefined) return;
  span.updateName(`${record.method} ${record.operation}`);
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
  span.setAttributes(attributes);
  // The decisions are collected on the request context as they are made; they become events at the end.
  for (const decision of record.decisions) span.addEvent(decision, { "apixo.decision": decision });
  if (record.status >= 500)
    span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorType ?? "upstream 5xx" });
  span.end();
}

/** A child of the active span (the request's), or undefined when tracing is off. */
export function startChildSpan(name: string, attributes: Attributes): Span | undefined {
  if (!enabled) return undefined;
  return tracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes });
}

const servers = new Map<string, Attributes>();

/** `server.address` / `server.port` of the upstream base URL, parsed once per URL. */
function serverAttributes(baseUrl: string): Attributes {
  let attributes = servers.get(baseUrl);
  if (attributes === undefined) {
    const url = new URL(baseUrl);
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
    attributes = { "server.address": url.hostname, "server.port": port };
    servers.set(baseUrl, attributes);
  }
  return attributes;
}

/**
 * The exchange with APIXO, as the client span of the call: the gateway makes it itself rather than through
 * the HTTP instrumentation, which would add a second span per call (and patch every http request) for the
 * same facts. APIXO receives `traceparent` for this span.
 */
export function startUpstreamSpan(
  baseUrl: string,
  method: string,
  apixo: { readonly operation: string; readonly model: string | undefined },
): Span | undefined {
  if (!enabled) return undefined;
  const attributes: Attributes = {
    ...serverAttributes(baseUrl),
    "http.request.method": method,
    "apixo.operation": apixo.operation,
  };
  if (apixo.model !== undefined) attributes["apixo.model"] = apixo.model;
  return tracer().startSpan("apixo.upstream", { kind: SpanKind.CLIENT, attributes });
}

/** A span around one store call; the name is built only when tracing is on. */
export function startStoreSpan(operation: string): Span | undefined {
  if (!enabled) return undefined;
  return startChildSpan(`apixo.store ${operation}`, { "apixo.store.operation": operation });
}

export function endChildSpan(
  span: Span | undefined,
  error: string | undefined,
  attributes?: Attributes,
): void {
  if (span === undefined) return;
  if (attributes !== undefined) span.setAttributes(attributes);
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}

/** Writes `traceparent` (and `tracestate`) for the active span into the headers of an upstream request. */
export function injectTraceContext(headers: Record<string, string>): void {
  if (!enabled) return;
  propagation.inject(context.active(), headers);
}

/** The trace id for the audit line; undefined when the span is absent. */
export function traceIdOf(span: Span | undefined): string | undefined {
  return span?.spanContext().traceId;
}
