// validate-auth.ts: checks a route's authentication and error pages (RouteAuth, ErrorPages) — the
// parts of issue 20 an engine cannot fall back from: a bad one is refused, never served open.
import type { EngineSnapshot, ErrorPages, RouteAuth } from "./ir.ts";
import { hashKind } from "./password-hash.ts";

/** checkAuth lists the problems of one route's RouteAuth (at names the route). */
export function checkAuth(s: EngineSnapshot, at: string, a: RouteAuth): string[] {
  const p: string[] = [];
  const set = [a.basic, a.external, a.deny].filter((x) => x !== undefined).length;
  if (set !== 1) p.push(`${at}: auth must set exactly one of basic, external, deny`);
  if (a.deny !== undefined && !(a.deny.status >= 400 && a.deny.status <= 599))
    p.push(`${at}: auth deny status ${a.deny.status} is not 4xx or 5xx`);
  for (const u of a.basic?.users ?? [])
    if (hashKind(u.hash) === undefined)
      p.push(`${at}: auth user ${JSON.stringify(u.user)} has no supported hash`);
  const e = a.external;
  if (e !== undefined) {
    if (!/^https?:\/\//.test(e.url)) p.push(`${at}: auth url ${JSON.stringify(e.url)} is not http(s)`);
    if (e.pool !== undefined && !s.pools[e.pool])
      p.push(`${at}: auth pool ${JSON.stringify(e.pool)} does not exist`);
    if (!(Number.isInteger(e.timeoutMs) && e.timeoutMs > 0))
      p.push(`${at}: auth timeoutMs must be a positive integer`);
  }
  return p;
}

/** checkErrorPages lists the problems of one route's ErrorPages. */
export function checkErrorPages(s: EngineSnapshot, at: string, e: ErrorPages): string[] {
  const p: string[] = [];
  for (const c of e.codes)
    if (!(Number.isInteger(c) && c >= 300 && c <= 599)) p.push(`${at}: error page code ${c} is not 300-599`);
  if (e.pool !== undefined && !s.pools[e.pool])
    p.push(`${at}: error pages pool ${JSON.stringify(e.pool)} does not exist`);
  return p;
}
