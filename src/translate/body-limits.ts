// body-limits.ts: an Ingress's request-body settings (docs/limits.md). portico.dev/request-body-buffer
// is how much of a body still arriving the engine holds before it takes a backend connection
// ("0": stream at once), portico.dev/request-body-timeout how long that part may take to arrive
// (408 past it); ingress-nginx's proxy-request-buffering "off" is read as a buffer of 0. A value
// Portico cannot use is reported on the Ingress and the engine default applies.
import type { Ingress } from "../k8s/types.ts";
import type { Route } from "../model/ir.ts";
import { annotation, PORTICO_PREFIX } from "./context.ts";
import { parseDuration } from "./httproute-filters.ts";

/** ANN_BODY_BUFFER sets Route.requestBodyBufferBytes for every route of the Ingress. */
export const ANN_BODY_BUFFER = `${PORTICO_PREFIX}request-body-buffer`;
/** ANN_BODY_TIMEOUT sets Route.requestBodyTimeoutMs for every route of the Ingress. */
export const ANN_BODY_TIMEOUT = `${PORTICO_PREFIX}request-body-timeout`;
/** ANN_NGINX_BUFFERING is ingress-nginx's proxy-request-buffering ("on" | "off"), a migration path. */
export const ANN_NGINX_BUFFERING = "nginx.ingress.kubernetes.io/proxy-request-buffering";

/** MAX_BODY_BUFFER bounds the buffer a route may ask for: it is held in memory per request. */
export const MAX_BODY_BUFFER = 16 * 1024 * 1024;
const MIN_BODY_TIMEOUT_MS = 1000;
const MAX_BODY_TIMEOUT_MS = 3_600_000;

const UNITS: Record<string, number> = { "": 1, k: 1000, Ki: 1024, M: 1_000_000, Mi: 1024 * 1024 };

/** parseByteSize reads a byte count as a Kubernetes quantity: "65536", "64Ki", "1Mi", "500k"; else undefined. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d{1,12})(|k|Ki|M|Mi)$/.exec(text.trim());
  return m === null ? undefined : Number(m[1]) * UNITS[m[2]!]!;
}

/** bodyBufferProblem says why a buffer size is refused (range 0 to 16Mi), or undefined. */
export function bodyBufferProblem(text: string): string | undefined {
  const n = parseByteSize(text);
  if (n !== undefined && n <= MAX_BODY_BUFFER) return undefined;
  return `${JSON.stringify(text)} must be a size from 0 to 16Mi, like "64Ki" or "0" (stream bodies at once)`;
}

/** bodyTimeoutMs reads a body timeout (a Gateway API duration from 1s to 1h, like "30s"), or undefined. */
export function bodyTimeoutMs(text: string): number | undefined {
  const ms = parseDuration(text.trim());
  return ms !== undefined && ms >= MIN_BODY_TIMEOUT_MS && ms <= MAX_BODY_TIMEOUT_MS ? ms : undefined;
}

/** BodyLimits are the Route fields an Ingress's annotations set, and the problems found. */
export interface BodyLimits {
  fields: Pick<Route, "requestBodyBufferBytes" | "requestBodyTimeoutMs">;
  problems: string[];
}

/** bodyLimits reads the annotations of ing; problems name the annotation and what to write instead. */
export function bodyLimits(ing: Ingress): BodyLimits {
  const fields: BodyLimits["fields"] = {};
  const problems: string[] = [];
  const buffer = annotation(ing, ANN_BODY_BUFFER);
  const nginx = annotation(ing, ANN_NGINX_BUFFERING);
  if (buffer !== undefined) {
    const bad = bodyBufferProblem(buffer);
    if (bad === undefined) fields.requestBodyBufferBytes = parseByteSize(buffer)!;
    else problems.push(`${ANN_BODY_BUFFER}: ${bad}; using the engine default`);
  } else if (nginx !== undefined) {
    if (nginx === "off") fields.requestBodyBufferBytes = 0;
    else if (nginx !== "on")
      problems.push(
        `${ANN_NGINX_BUFFERING}: ${JSON.stringify(nginx)} is not "on" or "off"; using the engine default`,
      );
  }
  const timeout = annotation(ing, ANN_BODY_TIMEOUT);
  if (timeout !== undefined) {
    const ms = bodyTimeoutMs(timeout);
    if (ms !== undefined) fields.requestBodyTimeoutMs = ms;
    else
      problems.push(
        `${ANN_BODY_TIMEOUT}: ${JSON.stringify(timeout)} must be a duration from 1s to 1h, like "30s"; using the engine default`,
      );
  }
  return { fields, problems };
}
