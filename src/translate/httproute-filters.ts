// httproute-filters.ts: HTTPRoute (and GRPCRoute) filters into IR filters. Core and extended
// filters map one to one; a filter Portico does not implement (ExtensionRef) makes the rule
// invalid, because the spec forbids skipping a filter silently.
import type { HTTPRouteSpecRulesFilters } from "../k8s/gateway-api.ts";
import type { CorsPolicy, Header, PathRewrite, RouteFilter } from "../model/ir.ts";
import {
  resolveRef,
  type BackendEnv,
  type BackendRefSpec,
  type PoolProtocol,
  type RouteRefs,
} from "./gateway-backends.ts";

/** FilterSpec is a filter of any HTTP-like route kind (GRPCRoute's are a subset of HTTPRoute's). */
export type FilterSpec = Omit<HTTPRouteSpecRulesFilters, "type"> & { type: string };

/** RuleProblem is why a rule was dropped, with the reason the route's status reports. */
export interface RuleProblem {
  reason: "UnsupportedValue" | "IncompatibleFilters";
  message: string;
}

/** headerEdits reads a header modifier block. */
function headerEdits(m: { set?: Header[]; add?: Header[]; remove?: string[] } | undefined) {
  const out: { set?: Header[]; add?: Header[]; remove?: string[] } = {};
  if (m?.set?.length) out.set = m.set.map((h) => ({ name: h.name, value: h.value }));
  if (m?.add?.length) out.add = m.add.map((h) => ({ name: h.name, value: h.value }));
  if (m?.remove?.length) out.remove = [...m.remove];
  return out;
}

/** pathRewrite reads a redirect or rewrite path modifier. */
function pathRewrite(
  p: { type: string; replaceFullPath?: string; replacePrefixMatch?: string } | undefined,
): PathRewrite | undefined {
  if (!p) return undefined;
  if (p.type === "ReplaceFullPath") return { type: "ReplaceFullPath", value: p.replaceFullPath ?? "/" };
  return { type: "ReplacePrefixMatch", value: p.replacePrefixMatch ?? "/" };
}

/** mirrorPercent reads percent or fraction (default: every request). */
function mirrorPercent(m: {
  percent?: number;
  fraction?: { numerator: number; denominator?: number };
}): number {
  if (m.percent !== undefined) return m.percent;
  if (m.fraction) return (m.fraction.numerator / (m.fraction.denominator ?? 100)) * 100;
  return 100;
}

/** corsPolicy reads a CORS filter; maxAge defaults to the CRD's 5 s (files are not defaulted). */
function corsPolicy(c: NonNullable<FilterSpec["cors"]>): CorsPolicy {
  const out: CorsPolicy = { type: "CORS", allowOrigins: [...(c.allowOrigins ?? [])] };
  if (c.allowMethods?.length) out.allowMethods = [...c.allowMethods];
  if (c.allowHeaders?.length) out.allowHeaders = [...c.allowHeaders];
  if (c.exposeHeaders?.length) out.exposeHeaders = [...c.exposeHeaders];
  if (c.allowCredentials) out.allowCredentials = true;
  out.maxAgeSeconds = c.maxAge ?? 5;
  return out;
}

/**
 * convertFilters maps a rule's filters; prefixOnly says every match of the rule is a PathPrefix
 * (ReplacePrefixMatch needs one). Returns the IR filters or the problem that drops the rule.
 */
export function convertFilters(
  env: BackendEnv,
  route: RouteRefs,
  filters: readonly FilterSpec[],
  prefixOnly: boolean,
  mirrorProtocol: PoolProtocol,
): RouteFilter[] | RuleProblem {
  const out: RouteFilter[] = [];
  const types = filters.map((f) => f.type);
  if (types.includes("RequestRedirect") && types.includes("URLRewrite")) {
    return {
      reason: "IncompatibleFilters",
      message: "RequestRedirect and URLRewrite cannot be used together",
    };
  }
  for (const f of filters) {
    switch (f.type) {
      case "RequestHeaderModifier":
        out.push({ type: "RequestHeaderModifier", ...headerEdits(f.requestHeaderModifier) });
        break;
      case "ResponseHeaderModifier":
        out.push({ type: "ResponseHeaderModifier", ...headerEdits(f.responseHeaderModifier) });
        break;
      case "RequestRedirect": {
        const r = f.requestRedirect ?? {};
        const filter: Extract<RouteFilter, { type: "RequestRedirect" }> = {
          type: "RequestRedirect",
          statusCode: (r.statusCode ?? 302) as 301 | 302 | 303 | 307 | 308,
        };
        if (r.scheme) filter.scheme = r.scheme as "http" | "https";
        if (r.hostname) filter.hostname = r.hostname;
        if (r.port !== undefined) filter.port = r.port;
        const path = pathRewrite(r.path);
        if (path?.type === "ReplacePrefixMatch" && !prefixOnly) {
          return { reason: "UnsupportedValue", message: "ReplacePrefixMatch needs PathPrefix matches" };
        }
        if (path) filter.path = path;
        out.push(filter);
        break;
      }
      case "URLRewrite": {
        const r = f.urlRewrite ?? {};
        const filter: Extract<RouteFilter, { type: "URLRewrite" }> = { type: "URLRewrite" };
        if (r.hostname) filter.hostname = r.hostname;
        const path = pathRewrite(r.path);
        if (path?.type === "ReplacePrefixMatch" && !prefixOnly) {
          return { reason: "UnsupportedValue", message: "ReplacePrefixMatch needs PathPrefix matches" };
        }
        if (path) filter.path = path;
        out.push(filter);
        break;
      }
      case "RequestMirror": {
        const m = f.requestMirror;
        if (!m) break;
        const pool = resolveRef(env, route, m.backendRef as BackendRefSpec, mirrorProtocol);
        // An unresolvable mirror is reported in ResolvedRefs; the rule still serves its own backends.
        if (pool !== undefined) out.push({ type: "RequestMirror", pool, percent: mirrorPercent(m) });
        break;
      }
      case "CORS":
        if (f.cors) out.push(corsPolicy(f.cors));
        break;
      default:
        return { reason: "UnsupportedValue", message: `filter type ${f.type} is not supported` };
    }
  }
  return out;
}

/** DURATION is GEP-2257's duration: 1 to 4 parts of up to 5 digits each with h, m, s or ms. */
const DURATION = /^([0-9]{1,5}(h|ms|m|s)){1,4}$/;

/** parseDuration turns a Gateway API duration into milliseconds, or undefined when malformed. */
export function parseDuration(d: string): number | undefined {
  if (!DURATION.test(d)) return undefined;
  let ms = 0;
  for (const m of d.matchAll(/([0-9]+)(h|ms|m|s)/g)) {
    const n = Number(m[1]);
    ms += m[2] === "h" ? n * 3_600_000 : m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n;
  }
  return ms;
}
