// invalid.ts: how the path, redirect and upstream annotation families report a value Portico
// cannot use — a warning condition on the Ingress (reason InvalidAnnotation, or
// UnsupportedAnnotation for a value ingress-nginx takes that Portico cannot honour) and one notice
// (`portico validate`, /api/v1/errors) — however many routes of the Ingress the applier visits.
import type { Ingress } from "../../k8s/types.ts";
import type { TranslateContext } from "../context.ts";
import { ACCEPTED, keyOf, refOf } from "../status.ts";

/** NGINX_ANN is the prefix of ingress-nginx's annotations. */
export const NGINX_ANN = "nginx.ingress.kubernetes.io/";

/** reportAnnotation warns on ing (deduplicated: an applier runs once per route of the Ingress). */
export function reportAnnotation(
  ctx: TranslateContext,
  ing: Ingress,
  message: string,
  reason: "InvalidAnnotation" | "UnsupportedAnnotation" = "InvalidAnnotation",
): void {
  const ref = refOf(ing);
  ctx.status.warn(ref, ACCEPTED, reason, message);
  const notice = `${keyOf(ref)}: ${message}`;
  if (!ctx.notices.includes(notice)) ctx.notices.push(notice);
}

/** boolAnnotation reads a "true"/"false" annotation; another value is reported and read as fallback. */
export function boolAnnotation(
  ctx: TranslateContext,
  ing: Ingress,
  name: string,
  fallback: boolean,
): boolean | undefined {
  const v = ing.metadata.annotations?.[name]?.trim();
  if (v === undefined || v === "") return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  reportAnnotation(ctx, ing, `${name}: ${JSON.stringify(v)} is not "true" or "false"; read as "${fallback}"`);
  return fallback;
}

/** failClosed is the answer of a route whose annotation cannot be honoured and must not be served without it. */
export function failClosed(status: 500 | 502): { type: "DirectResponse"; status: number; body: string } {
  return {
    type: "DirectResponse",
    status,
    body:
      status === 500
        ? "internal server error: this route is misconfigured\n"
        : "bad gateway: this route's backend protocol is not supported\n",
  };
}
