// traffic-report.ts: what the traffic annotation families (canary, affinity, cors, source ranges,
// limits, balancing) share: the ingress-nginx prefix, reading one annotation, reporting a problem
// once per Ingress (appliers run once per route), and the deny-everything access config an
// access-related annotation becomes when its value cannot be honoured (fail closed).
import type { Ingress } from "../../k8s/types.ts";
import type { AccessConfig, Route } from "../../model/ir.ts";
import { annotation, type TranslateContext } from "../context.ts";
import { ACCEPTED, keyOf, refOf } from "../status.ts";

/** NGINX is ingress-nginx's annotation prefix. */
export const NGINX = "nginx.ingress.kubernetes.io/";

/** nginxAnnotation reads nginx.ingress.kubernetes.io/<name> of ing (trimmed; undefined when absent or empty). */
export function nginxAnnotation(ing: Ingress, name: string): string | undefined {
  return annotation(ing, NGINX + name);
}

/**
 * reportAnnotation puts a problem on the Ingress (Accepted stays True, reason InvalidAnnotation)
 * and in the notices, once; message starts with the annotation's name without the prefix.
 */
export function reportAnnotation(ctx: TranslateContext, ing: Ingress, message: string): void {
  const ref = refOf(ing);
  message = NGINX + message;
  ctx.status.warn(ref, ACCEPTED, "InvalidAnnotation", message);
  const notice = `${keyOf(ref)}: ${message}`;
  if (!ctx.notices.includes(notice)) ctx.notices.push(notice);
}

/** listOf splits a comma-separated annotation value into its trimmed, non-empty items. */
export function listOf(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** wholeNumber reads a non-negative whole number written in decimal ("10"), else undefined. */
export function wholeNumber(value: string): number | undefined {
  return /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

/**
 * refuseAll is the access config of a route whose access annotation could not be honoured: every
 * client gets 403, and the policy name (in the access log) says which annotation and why.
 */
export function refuseAll(ing: Ingress, what: string): AccessConfig {
  return { policy: `${keyOf(refOf(ing))} (${what}: refusing every client)`, deny: ["0.0.0.0/0", "::/0"] };
}

/** withExtraAccess returns route with a further access config (Route.extraAccess) appended. */
export function withExtraAccess(route: Route, a: AccessConfig): Route {
  return { ...route, extraAccess: [...(route.extraAccess ?? []), a] };
}
