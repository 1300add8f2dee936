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
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from "@opentelemetry/semantic-conventions";
import { ROUTE_TEMPLATES } from "../apixo/endpoints.js";
import type { OperationLabel, RequestRecord } from "./events.js";

/** A span as the rest of the gateway holds it: opaque, and undefined whenever tracing is off. */
export type TraceSpan = Span;

/** What the server span knows when a request arrives (OTel HTTP server attributes). */
export interface RequestStart {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The local port the request came in on. */
  readonly localPort: number | undefined;
  /** The peer's address (the load balancer's, behind one). */
  readonly remoteAddress: string | undefined;
}

/** One exchange with APIXO as the client span describes it. */
export interface UpstreamSpanInfo {
  readonly operation: OperationLabel;
  readonly model: string | undefined;
  /** 0 for the first try, n for the n-th resend (`http.request.resend_count`). */
  readonly resendCount: number;
}

/**
 * The tracing port. Everything that makes spans gets one injected (the composition root chooses): the noop one
 * while tracing is off, so the request path pays one call that returns undefined, and the OpenTelemetry one
 * once an SDK is registered (tracing.ts).
 */
export interface Tracer {
  /** The one server span of a request, continuing the client's trace when it sent a `traceparent`. */
  requestSpan(start: RequestStart): TraceSpan | undefined;
  /** Runs `fn` with `span` active, so child spans and `inject` find it. */
  run<T>(span: TraceSpan | undefined, fn: () => T): T;
  /** Names, attributes and ends the server span from the same record the audit line is written from. */
  endRequest(span: TraceSpan | undefined, record: RequestRecord): void;
  /** A child of the active span. */
  child(name: string, attributes: Attributes): TraceSpan | undefined;
  /** The client span of one exchange with APIXO; APIXO receives `traceparent` for it. */
  upstream(
    baseUrl: string,
    target: { readonly method: string; readonly path: string; readonly query: string },
    info: UpstreamSpanInfo,
  ): TraceSpan | undefined;
  /** A span around one store call (`db.system.name` is the store's kind: redis or memory). */
  store(operation: string, system: string): TraceSpan | undefined;
  end(span: TraceSpan | undefined, error?: string, attributes?: Attributes): void;
  /** Writes `traceparent` (and `tracestate`) for the active span into the headers of an upstream request. */
  inject(headers: Record<string, string>): void;
  traceId(span: TraceSpan | undefined): string | undefined;
  /** The span's W3C `traceparent`, to keep on a record another trace will link to. */
  traceparent(span: TraceSpan | undefined): string | undefined;
  /** Links `span` to the span a stored `traceparent` names (`apixo.link` says why); no-op without either. */
  link(span: TraceSpan | undefined, traceparent: string | undefined, why: string): void;
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
  traceparent: () => undefined,
  link: () => undefined,
};

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export const TRACER_NAME = "apixo-gateway";

/** The public port's route templates (`http.route`); other paths have none (the span is named by method). */
const SERVER_ROUTES: Partial<Record<OperationLabel, string>> = {
  ...ROUTE_TEMPLATES,
  callback: "/callbacks/apixo/{token}",
};

/** What a client span says of the upstream: `server.*` and the base its paths join, parsed once per URL. */
interface UpstreamServer {
  readonly attributes: Attributes;
  /** Origin and base path without a trailing slash: the transport sends `base + path` (upstream/transport.ts). */
  readonly base: string;
}

function upstreamServer(servers: Map<string, UpstreamServer>, baseUrl: string): UpstreamServer {
  let server = servers.get(baseUrl);
  if (server === undefined) {
    const url = new URL(baseUrl);
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
    server = {
      attributes: { [ATTR_SERVER_ADDRESS]: url.hostname, [ATTR_SERVER_PORT]: port },
      base: url.origin + url.pathname.replace(/\/+$/, ""),
    };
    servers.set(baseUrl, server);
  }
  return server;
}

/** The Host header's name part (`server.address` of a server span); undefined when absent. */
function hostOf(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host;
  if (host === undefined || host === "") return undefined;
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
}

function startAttributes(start: RequestStart): Attributes {
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: start.method,
    [ATTR_URL_PATH]: start.path,
    // TLS, when used, ends in front of the gateway: its own port speaks plain HTTP.
    [ATTR_URL_SCHEME]: "http",
  };
  const host = hostOf(start.headers);
  if (host !== undefined) attributes[ATTR_SERVER_ADDRESS] = host;
  if (start.localPort !== undefined) attributes[ATTR_SERVER_PORT] = start.localPort;
  if (start.remoteAddress !== undefined) attributes[ATTR_CLIENT_ADDRESS] = start.remoteAddress;
  const agent = start.headers["user-agent"];
  if (agent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = agent;
  return attributes;
}

function requestAttributes(record: RequestRecord, route: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: record.status,
    "apixo.request_id": record.requestId,
    "apixo.operation": record.operation,
    "apixo.upstream_ms": record.upstreamMs,
  };
  if (route !== undefined) attributes[ATTR_HTTP_ROUTE] = route;
  // A server span is an error only for 5xx (a 4xx is the client's); error.type names what went wrong.
  if (record.status >= 500) attributes[ATTR_ERROR_TYPE] = record.errorType ?? String(record.status);
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

const NUMBERED = /^(retry)_(\d+)$|^(account_limited)_(\w+)$/;

/** A decision as a span event: named by its kind, the values in attributes (never in the name). */
export function decisionEvent(decision: string): { name: string; attributes: Attributes } {
  const match = NUMBERED.exec(decision);
  if (match?.[1] !== undefined) {
    return { name: match[1], attributes: { "apixo.retry.attempt": Number(match[2]) } };
  }
  if (match?.[3] !== undefined) {
    return { name: match[3], attributes: { "apixo.account_limit.reason": match[4] ?? "" } };
  }
  return { name: decision, attributes: {} };
}

/**
 * The gateway's own spans through `@opentelemetry/api` (the SDK behind it is started by tracing.ts), named and
 * attributed by the OpenTelemetry HTTP and database semantic conventions. They are made here rather than by the
 * http and ioredis auto-instrumentations, which added a second span for every APIXO call and store script for
 * the same facts (docs/benchmarks.md).
 */
export function otelTracer(): Tracer {
  const tracer = trace.getTracer(TRACER_NAME);
  const servers = new Map<string, UpstreamServer>();
  const child = (name: string, attributes: Attributes): Span =>
    tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
  return {
    requestSpan(start) {
      const parent = propagation.extract(ROOT_CONTEXT, start.headers);
      // Named `{method}` until the route is known (endRequest); never by the raw path (unbounded).
      return tracer.startSpan(
        start.method,
        { kind: SpanKind.SERVER, attributes: startAttributes(start) },
        parent,
      );
    },
    run(span, fn) {
      if (span === undefined) return fn();
      return context.with(trace.setSpan(context.active(), span), fn);
    },
    endRequest(span, record) {
      if (span === undefined) return;
      const route = SERVER_ROUTES[record.operation];
      span.updateName(route === undefined ? record.method : `${record.method} ${route}`);
      span.setAttributes(requestAttributes(record, route));
      for (const decision of record.decisions) {
        const event = decisionEvent(decision);
        span.addEvent(event.name, event.attributes);
      }
      if (record.status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorType ?? "upstream 5xx" });
      }
      span.end();
    },
    child,
    upstream(baseUrl, target, info) {
      const template = info.operation in ROUTE_TEMPLATES ? SERVER_ROUTES[info.operation] : undefined;
      const query = target.query === "" ? "" : `?${target.query}`;
      const server = upstreamServer(servers, baseUrl);
      const attributes: Attributes = {
        ...server.attributes,
        [ATTR_HTTP_REQUEST_METHOD]: target.method,
        [ATTR_URL_FULL]: `${server.base}${target.path}${query}`,
        "apixo.operation": info.operation,
      };
      if (info.resendCount > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = info.resendCount;
      if (template !== undefined) attributes["url.template"] = template;
      if (info.model !== undefined) attributes["apixo.model"] = info.model;
      // `{method} {url.template}` (HTTP client span name); the method alone without a template.
      const name = template === undefined ? target.method : `${target.method} ${template}`;
      return tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
    },
    store: (operation, system) =>
      tracer.startSpan(`${operation} ${system}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_DB_SYSTEM_NAME]: system,
          [ATTR_DB_OPERATION_NAME]: operation,
        },
      }),
    end(span, error, attributes) {
      if (span === undefined) return;
      if (attributes !== undefined) span.setAttributes(attributes);
      if (error !== undefined) {
        span.setAttribute(ATTR_ERROR_TYPE, error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      }
      span.end();
    },
    inject(headers) {
      propagation.inject(context.active(), headers);
    },
    traceId: (span) => span?.spanContext().traceId,
    traceparent(span) {
      if (span === undefined) return undefined;
      const { traceId, spanId, traceFlags } = span.spanContext();
      return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, "0")}`;
    },
    link(span, traceparent, why) {
      const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
      if (span === undefined || match === null) return;
      const [, traceId = "", spanId = "", flags = "00"] = match;
      span.addLink({
        context: { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true },
        attributes: { "apixo.link": why },
      });
    },
  };
}
