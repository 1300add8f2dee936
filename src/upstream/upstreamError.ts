import { GatewayError } from "../errors/catalog.js";
import type { UpstreamFailure } from "../telemetry/events.js";

export type { UpstreamFailure };

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNECT_TIMEOUT",
]);

/** A failed exchange with APIXO, classified for the client (502/504) and for metrics (`reason`). */
export class UpstreamError extends Error {
  readonly reason: UpstreamFailure;
  /** True when the request provably never reached APIXO (nothing was sent), so a submit may be retried. */
  readonly neverSent: boolean;

  constructor(
    reason: UpstreamFailure,
    message: string,
    options: { cause?: unknown; neverSent?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UpstreamError";
    this.reason = reason;
    this.neverSent = options.neverSent ?? false;
  }

  static classify(err: unknown, timedOut: boolean): UpstreamError {
    if (err instanceof UpstreamError) return err;
    if (timedOut) return new UpstreamError("timeout", "upstream did not answer in time", { cause: err });
    const code = codeOf(err);
    if (CONNECT_CODES.has(code)) {
      return new UpstreamError("connect", `cannot connect to upstream (${code})`, {
        cause: err,
        neverSent: true,
      });
    }
    return new UpstreamError("reset", `upstream connection failed (${code || "reset"})`, { cause: err });
  }

  toGatewayError(): GatewayError {
    if (this.reason === "timeout") {
      return new GatewayError("UPSTREAM_TIMEOUT", "APIXO did not answer in time; retry later.", {
        cause: this,
      });
    }
    const what =
      this.reason === "bad_response"
        ? "APIXO sent an answer the gateway could not read"
        : this.reason === "connect"
          ? "APIXO cannot be reached"
          : "the connection to APIXO failed";
    return new GatewayError("UPSTREAM_UNAVAILABLE", `${what}; retry later.`, { cause: this });
  }
}

function codeOf(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
}
