// failure.ts: what an exchange does when its backend connection fails — retry on another backend,
// or answer 502/504 — shared by the HTTP/1.1 (exchange.ts) and HTTP/2 (h2-exchange.ts) fronts so
// the two never disagree on when a request is safe to send twice.
import type { UpstreamFailure } from "./upstream.ts";

/** IDEMPOTENT methods may be retried: RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** RetryCheck is what the retry decision needs to know about an exchange and its failed connection. */
export interface RetryCheck {
  failure: UpstreamFailure;
  /** reused and sawResponse describe the failed backend connection. */
  reused: boolean;
  sawResponse: boolean;
  /** responseStarted: something was already sent to the client. */
  responseStarted: boolean;
  method: string;
  /** hasBody: the request carries a body, which is not kept for a second attempt. */
  hasBody: boolean;
  attempts: number;
  maxAttempts: number;
}

/**
 * retryable says whether a failed attempt may go to another backend: nothing sent to the client,
 * an idempotent method without a body, and either a failed connect or a reused keep-alive
 * connection the backend closed before answering (the classic keep-alive race).
 */
export function retryable(c: RetryCheck): boolean {
  return (
    !c.responseStarted &&
    (c.failure === "connect" || (c.failure === "reset" && c.reused && !c.sawResponse)) &&
    IDEMPOTENT.has(c.method) &&
    !c.hasBody &&
    c.attempts < c.maxAttempts
  );
}

/** retryReason is the message kept in case every attempt fails. */
export function retryReason(
  failure: UpstreamFailure,
  backend: string,
  route: string | undefined,
  detail: string,
): string {
  const what = failure === "connect" ? "cannot connect to" : "lost connection to";
  return `${what} backend ${backend} of route ${route}: ${detail}`;
}

/** failureAnswer is the status and text for a failure that is not retried: 504 on timeout, else 502. */
export function failureAnswer(
  failure: UpstreamFailure,
  backend: string,
  route: string | undefined,
  detail: string,
): [status: number, text: string] {
  const what = `backend ${backend} of route ${route}`;
  if (failure === "timeout") return [504, `${what} timed out (${detail})`];
  if (failure === "connect") return [502, `cannot connect to ${what}: ${detail}`];
  return [502, `${what} failed: ${detail}`];
}

// PUBLIC_TEXT is what a client reads when the proxy answers for a backend: the status in words
// and nothing of the inside (backend addresses, route names, error codes go to the logs instead).
const PUBLIC_TEXT: Record<number, string> = {
  403: "forbidden: this client may not use this service",
  408: "request timeout: the request body did not arrive in time",
  429: "too many requests: retry after the time Retry-After gives",
  500: "internal server error: the request cannot be served",
  502: "bad gateway: the service behind this address failed to answer",
  503: "service unavailable: no server is available to answer",
  504: "gateway timeout: the service behind this address did not answer in time",
};

/** publicText is the body of an error the proxy answers itself; the detail goes to the logs. */
export function publicText(status: number): string {
  return PUBLIC_TEXT[status] ?? `error ${status}`;
}
