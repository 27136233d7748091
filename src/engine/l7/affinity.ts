// affinity.ts: cookie session affinity (Route.affinity; ingress-nginx `affinity: cookie`). The
// backend attempt (attempt.ts) reads the route's cookie and asks Upstreams to prefer the backend
// its token names (lb/sticky.ts); when the backend it got is not that one, the response sets a
// cookie naming it, through the route's responseHeaders phase (phases.ts). So a client stays on
// its endpoint while that endpoint is ready and healthy, and moves — with a new cookie — when it
// goes.
import type { CookieAffinity } from "../../model/ir.ts";
import { stickyToken } from "../lb/sticky.ts";
import type { HeaderEdits } from "./cors.ts";

/** StickyView is what the affinity step reads of an exchange: the Set-Cookie its pick asks for. */
export interface StickyView {
  /** stickyCookie is the Set-Cookie value for the response, undefined when the cookie stands. */
  readonly stickyCookie?: string | undefined;
}

/**
 * stickyCookieFor returns the Set-Cookie value after a pick of backendId for a request that came
 * with cookie token `asked` (undefined: none), or undefined when the client's cookie already names
 * it. retriedAway: the asked backend was tried first and failed over; with changeOnFailure false
 * the client keeps its cookie.
 */
export function stickyCookieFor(
  a: CookieAffinity,
  backendId: string,
  asked: string | undefined,
  https: boolean,
  retriedAway: boolean,
  now: () => number = Date.now,
): string | undefined {
  const token = stickyToken(backendId);
  if (token === asked) return undefined;
  if (retriedAway && !a.changeOnFailure) return undefined;
  let c = `${a.cookie}=${token}; Path=${a.path}`;
  if (a.domain !== undefined) c += `; Domain=${a.domain}`;
  if (a.expiresSeconds !== undefined)
    c += `; Expires=${new Date(now() + a.expiresSeconds * 1000).toUTCString()}`;
  if (a.maxAgeSeconds !== undefined) c += `; Max-Age=${a.maxAgeSeconds}`;
  // SameSite=None is refused by browsers without Secure (RFC 6265bis), so it implies Secure.
  if (a.secure ?? (https || a.sameSite === "None")) c += "; Secure";
  c += "; HttpOnly";
  if (a.sameSite !== undefined) c += `; SameSite=${a.sameSite}`;
  return c;
}

/** withStickyCookie adds the exchange's Set-Cookie, if its pick asked for one, to the response edits. */
export function withStickyCookie(edits: HeaderEdits | undefined, ex: StickyView): HeaderEdits | undefined {
  const c = ex.stickyCookie;
  if (c === undefined) return edits;
  const add = [...(edits?.add ?? []), { name: "Set-Cookie", value: c }];
  return edits === undefined ? { add } : { ...edits, add };
}
