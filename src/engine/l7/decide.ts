// decide.ts: the decision step every protocol front runs once a request's head is read and checked
// (HTTP/1.1: prepare.ts; HTTP/2: http2.ts): a host this connection must not serve, the route, its
// requestHeaders phase (phases.ts: a CORS preflight or a redirect answers, rewrites and header
// edits change the upstream request, mirrors are chosen), a direct response, or the backend pool.
// Protocol-neutral: it reads the request through Decidable, writes the routing choice into it,
// and returns an Answer that the front renders in its own protocol — or, when a step must wait
// (external authentication), a promise of one, for which the front holds the request.
import { http01Answer } from "../acme/http01.ts";
import type { ForwardBackend, InvalidBackend, Route } from "../../model/ir.ts";
import { publicText } from "./failure.ts";
import {
  addHeaderEdits,
  type Answer,
  type PhaseRequest,
  type Phases,
  type RequestHeadersStep,
} from "./phases.ts";
import { servernameOf } from "./router/misdirect.ts";
import type { ListenerRuntime } from "./runtime.ts";

/** Decidable is a request as the decision step reads it, and where it writes what it chose. */
export interface Decidable extends PhaseRequest {
  route: Route | undefined;
  /** vhost is the routing virtual host's configured hostname (metrics), "" when none matched. */
  vhost: string;
  /** phases are the route's compiled filters (undefined: it has none). */
  phases: Phases | undefined;
  /** pool is the backend pool chosen for a forwarded request. */
  pool: string;
}

/**
 * decide routes req on listener rt and returns the answer the proxy gives itself, or undefined
 * when req is to be forwarded to req.pool. socket is the client's connection (its TLS server name
 * decides whether the host may be served on it).
 */
export function decide(rt: ListenerRuntime, req: Decidable, socket: unknown): Decision {
  const host = req.host;
  // An ACME validation request for a token the controller pushed: the CA's, whatever the host's routes.
  const keyAuth = rt.acmeHttp01 === undefined ? undefined : http01Answer(rt.acmeHttp01, req.method, req.path);
  if (keyAuth !== undefined) return { status: 200, body: keyAuth };
  // HTTP/2 clients coalesce connections across names their certificate covers (RFC 9113 §9.1.1),
  // and an HTTP/1.1 client may send any Host on a connection opened for another name.
  if (rt.router.misdirected?.(servernameOf(socket), host))
    return { status: 421, body: `host "${host}" is not served on this connection: open one for it` };
  const hit = rt.router.route(host, req);
  if (hit === undefined) return { status: 404, body: `no route for host "${host}" path "${req.path}"` };
  const route = hit.route;
  req.route = route;
  req.vhost = hit.vhost;
  req.prefixLength = hit.prefixLength;
  const phases = hit.phases;
  req.phases = phases;
  const steps = phases?.requestHeaders;
  return steps === undefined ? act(req, route) : runSteps(req, route, steps, 0);
}

/**
 * Decision is decide's result: an answer, undefined to forward to req.pool, or — on a route with
 * a step that waits (external authentication) — a promise of either, which the front holds the
 * request for (the request is not forwarded, and its body not read further, until it settles).
 */
export type Decision = Answer | undefined | Promise<Answer | undefined>;

// runSteps runs the requestHeaders phase from step `from`, then the route's action. A step that
// returns a promise suspends the rest until it settles; routes without one never allocate here.
function runSteps(
  req: Decidable,
  route: Route,
  steps: readonly RequestHeadersStep[],
  from: number,
): Decision {
  for (let i = from; i < steps.length; i++) {
    const answer = steps[i]!(req);
    if (answer === undefined) continue;
    if (!(answer instanceof Promise)) return answer;
    return answer.then(
      (a) => (a !== undefined ? a : runSteps(req, route, steps, i + 1)),
      (err: unknown) => internalError(`route ${route.name}: a request step failed: ${String(err)}`),
    );
  }
  return act(req, route);
}

// act is the route's action once the requestHeaders phase let the request on.
function act(req: Decidable, route: Route): Answer | undefined {
  const action = route.action;
  if (action.type === "DirectResponse") return { status: action.status, body: action.body };
  const target = chooseTarget(action);
  if (target === undefined) return internalError(`route ${route.name} has no backends`);
  if (!("pool" in target))
    return { ...internalError(invalidBackendText(route.name, target)), invalidShare: true };
  req.pool = target.pool;
  // The chosen backend's own filters (backendRef filters) edit only the requests sent to it.
  const filters = target.filters;
  if (filters !== undefined) for (let i = 0; i < filters.length; i++) addHeaderEdits(req, filters[i]!);
  return undefined;
}

// internalError answers 500 for a route that cannot be served; the reason is for the logs only.
function internalError(detail: string): Answer {
  return { status: 500, body: publicText(500), error: detail };
}

/** pickPool chooses among the weighted pools of a route (weight 0 pools get nothing). */
export function pickPool(backends: readonly { pool: string; weight: number }[]): string | undefined {
  return pickBackend(backends, Math.random)?.pool;
}

// pickBackend chooses one of weighted backends (weight 0 ones get nothing).
function pickBackend<B extends { weight: number }>(
  backends: readonly B[],
  random: () => number,
): B | undefined {
  if (backends.length === 1)
    return backends[0]!.weight > 0 || backends[0]!.weight === undefined ? backends[0] : undefined;
  let total = 0;
  for (const b of backends) total += b.weight;
  if (total <= 0) return undefined;
  let r = random() * total;
  for (const b of backends) {
    r -= b.weight;
    if (r < 0) return b;
  }
  return backends[backends.length - 1];
}

/** ForwardTargets is what pickTarget reads of a Forward action. */
export interface ForwardTargets {
  backends: readonly ForwardBackend[];
  invalid?: readonly InvalidBackend[];
}

/**
 * pickTarget chooses a pool of a Forward action, or one of its invalid shares (weighed with the
 * pools, so an invalid ref gets the share of requests the Gateway API says must receive a 500).
 */
export function pickTarget(
  action: ForwardTargets,
  random: () => number = Math.random,
): string | InvalidBackend | undefined {
  const t = chooseTarget(action, random);
  return t !== undefined && "pool" in t ? t.pool : t;
}

/** chooseTarget is pickTarget returning the chosen backend itself (with its filters). */
export function chooseTarget(
  action: ForwardTargets,
  random: () => number = Math.random,
): ForwardBackend | InvalidBackend | undefined {
  const invalid = action.invalid;
  if (invalid === undefined || invalid.length === 0) return pickBackend(action.backends, random);
  let total = 0;
  for (const b of action.backends) total += b.weight;
  for (const b of invalid) total += b.weight;
  if (!(total > 0)) return undefined;
  let r = random() * total;
  for (const b of action.backends) {
    r -= b.weight;
    if (r < 0) return b;
  }
  for (const b of invalid) {
    r -= b.weight;
    if (r < 0) return b;
  }
  return invalid[invalid.length - 1];
}

/** invalidBackendText says, for the logs, why a request picked for an invalid backend share got 500. */
export function invalidBackendText(route: string, b: InvalidBackend): string {
  return `backend reference ${b.ref} of route ${route} is invalid`;
}
