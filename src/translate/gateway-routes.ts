// gateway-routes.ts: every route kind against Portico's parents, in three steps. Attach: each
// parentRef picks its listeners (gateway-attach.ts). Settle: an HTTPRoute and a GRPCRoute whose
// hostnames overlap on one listener cannot both attach; the older one (creation time, then
// namespace/name) keeps the listener, as the GRPCRoute spec requires. Compile and report: each
// route is compiled once, attached to its listeners, and given one status entry per parent.
import {
  attach,
  intersectHost,
  parentKey,
  routeHosts,
  type Attachment,
  type Parent,
} from "./gateway-attach.ts";
import type { BackendEnv, RouteRefs } from "./gateway-backends.ts";
import type { Compiled } from "./gateway-build.ts";
import { Problems, generationOf, no, yes } from "./gateway-conditions.ts";
import type { CompiledRoute } from "./gateway-http.ts";
import { routeParent } from "./gateway-status.ts";
import { ROUTE_KINDS, byAge, keyOfObj, nsOf, type Listener, type RouteObject } from "./gateway-types.ts";
import { compileGrpcRoute } from "./grpcroute.ts";
import { compileHttpRoute } from "./httproute.ts";
import { refOf } from "./status.ts";
import { compileL4Route } from "./tcproute.ts";
import { compileTlsRoute } from "./tlsroute.ts";
import { compileUdpRoute } from "./udproute.ts";

/** Pending is a route and the outcome of each of its parentRefs that names a parent of Portico's. */
interface Pending {
  route: RouteObject;
  attachments: Attachment[];
}

/** attachRoutes attaches, settles, compiles and reports every route of every kind. */
export function attachRoutes(env: BackendEnv, parents: ReadonlyMap<string, Parent>): Compiled {
  const pending: Pending[] = [];
  for (const kind of ROUTE_KINDS) {
    const routes = env.ctx.set.other.filter((o) => o.kind === kind).sort(byAge) as RouteObject[];
    for (const route of routes) {
      const attachments: Attachment[] = [];
      for (const pr of route.spec?.parentRefs ?? []) {
        const key = parentKey(route, pr);
        const parent = key === undefined ? undefined : parents.get(key);
        if (parent) attachments.push(attach(env.ctx.set, route, pr, parent));
      }
      if (attachments.length > 0) pending.push({ route, attachments });
    }
  }
  settleHttpAndGrpc(pending);
  const compiled: Compiled = { http: new Map(), tls: new Map(), l4: new Map() };
  for (const p of pending) report(env, p, compiled);
  return compiled;
}

/** overlap tells whether two hostname lists on one listener share a name ("*" overlaps everything). */
function overlap(a: readonly string[], b: readonly string[]): boolean {
  return a.some((x) => b.some((y) => x === "*" || y === "*" || intersectHost(x, y) !== undefined));
}

/** settleHttpAndGrpc takes a listener away from the younger of an overlapping HTTPRoute/GRPCRoute pair. */
function settleHttpAndGrpc(pending: Pending[]): void {
  const kept = new Map<Listener, RouteObject[]>();
  const ordered = pending
    .filter((p) => p.route.kind === "HTTPRoute" || p.route.kind === "GRPCRoute")
    .sort((a, b) => byAge(a.route, b.route));
  for (const p of ordered) {
    for (const a of p.attachments) {
      if (a.accepted.status !== "True") continue;
      const lost: string[] = [];
      a.listeners = a.listeners.filter((l) => {
        const holders = kept.get(l) ?? [];
        const rival = holders.find(
          (h) => h.kind !== p.route.kind && overlap(routeHosts(l, h), routeHosts(l, p.route)),
        );
        if (rival) {
          lost.push(`listener ${l.name} already carries ${keyOfObj(rival)} for overlapping hostnames`);
          return false;
        }
        kept.set(l, [...holders, p.route]);
        return true;
      });
      if (a.listeners.length === 0 && lost.length > 0) a.accepted = no("Conflicted", lost.join("; "));
    }
  }
}

/** report compiles one route, attaches it where it was accepted, and writes its status. */
function report(env: BackendEnv, { route, attachments }: Pending, compiled: Compiled): void {
  const refs: RouteRefs = {
    kind: route.kind,
    namespace: nsOf(route),
    gateways: [
      ...new Set(
        attachments
          .filter((a) => a.listeners.length > 0)
          .map((a) => `${nsOf(a.parent.gateway)}/${a.parent.gateway.metadata.name}`),
      ),
    ],
    problems: new Problems(),
  };
  let http: CompiledRoute | undefined;
  if (route.kind === "HTTPRoute") http = compileHttpRoute(env, route, refs);
  else if (route.kind === "GRPCRoute") http = compileGrpcRoute(env, route, refs);
  else if (route.kind === "TLSRoute") compiled.tls.set(route, compileTlsRoute(env, route, refs));
  else if (route.kind === "TCPRoute") compiled.l4.set(route, compileL4Route(env, route, refs, "tcp"));
  else compiled.l4.set(route, compileUdpRoute(env, route, refs));
  if (http) compiled.http.set(route, http);
  const ruleCount = (route.spec?.rules ?? []).length;
  const dropped = http?.dropped ?? [];
  const allDropped = ruleCount > 0 && dropped.length === ruleCount;
  const partial =
    dropped.length > 0 && !allDropped
      ? yes(dropped[0]!.reason, `Dropped Rule(s) ${dropped.map((d) => `${d.rule}: ${d.message}`).join("; ")}`)
      : undefined;
  const gen = generationOf(route);
  const parentsStatus = attachments.map((a) => {
    let accepted = a.accepted;
    if (accepted.status === "True" && allDropped)
      accepted = no(dropped[0]!.reason, dropped.map((d) => `rule ${d.rule}: ${d.message}`).join("; "));
    if (accepted.status === "True")
      for (const l of a.listeners) if (!l.attached.includes(route)) l.attached.push(route);
    return routeParent(
      a.parentRef,
      { accepted, resolvedRefs: refs.problems.cond("ResolvedRefs"), ...(partial ? { partial } : {}) },
      gen,
    );
  });
  env.ctx.status.field(refOf(route), "parents", parentsStatus);
}
