/**
 * The one catalog of errors the gateway itself produces (CONTRACTS.md section 1).
 * Each is answered in APIXO's envelope plus an `error` object for machines, so existing client code keeps working.
 */
export const errorCatalog = {
  UNAUTHENTICATED: { status: 401, retryable: false },
  TENANT_DISABLED: { status: 403, retryable: false },
  MODEL_NOT_ALLOWED: { status: 403, retryable: false },
  INVALID_REQUEST: { status: 400, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  /** A request body in a Content-Encoding the gateway does not decode (CONTRACTS.md section 5). */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  TASK_NOT_FOUND: { status: 404, retryable: false },
  SPEND_CAP_EXCEEDED: { status: 402, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  CONCURRENCY_LIMITED: { status: 429, retryable: true },
  LIMITS_UNAVAILABLE: { status: 503, retryable: true },
  OVERLOADED: { status: 503, retryable: true },
  UPSTREAM_UNAVAILABLE: { status: 502, retryable: true },
  UPSTREAM_TIMEOUT: { status: 504, retryable: true },
  INTERNAL: { status: 500, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorType = keyof typeof errorCatalog;

export interface GatewayErrorOptions {
  /** Whole seconds a client should wait; becomes `Retry-After`. */
  retryAfterSec?: number;
  /** Overrides the catalog's HTTP status (e.g. 503 for an open circuit reported as UPSTREAM_UNAVAILABLE). */
  status?: number;
  /** Facts for machines, sent as `error.details` (e.g. which budget window refused and when it resets). */
  details?: Readonly<Record<string, string | number>>;
  cause?: unknown;
}

/**
 * A failure the gateway answers itself. `message` is shown to the client, so it must be a sentence a person can
 * act on and must never contain a key or an internal detail; put those in `cause` (logged, never sent).
 */
export class GatewayError extends Error {
  readonly type: ErrorType;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSec: number | undefined;
  readonly details: Readonly<Record<string, string | number>> | undefined;

  constructor(type: ErrorType, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.type = type;
    this.status = options.status ?? errorCatalog[type].status;
    this.retryable = errorCatalog[type].retryable;
    this.retryAfterSec =
      options.retryAfterSec === undefined ? undefined : Math.max(1, Math.ceil(options.retryAfterSec));
    this.details = options.details;
  }
}

export interface ErrorEnvelope {
  code: number;
  message: string;
  data: null;
  error: {
    type: ErrorType;
    requestId: string;
    retryable: boolean;
    details?: Readonly<Record<string, string | number>>;
  };
}

export function errorEnvelope(error: GatewayError, requestId: string): ErrorEnvelope {
  return {
    code: error.status,
    message: error.message,
    data: null,
    error: {
      type: error.type,
      requestId,
      retryable: error.retryable,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

/** Anything that is not a GatewayError is a bug: the client learns only the request id. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError("INTERNAL", "Internal gateway error; quote the request id when reporting it.", {
    cause: err,
  });
}
