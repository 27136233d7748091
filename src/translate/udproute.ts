// udproute.ts: UDPRoute shares TCPRoute's compilation (tcproute.ts) with UDP pools; the listener
// side (one L4 UDP listener per port, sessions bounded) is built in gateway-build.ts.
import type { BackendEnv, RouteRefs } from "./gateway-backends.ts";
import type { RouteObject } from "./gateway-types.ts";
import { compileL4Route, type L4Rule } from "./tcproute.ts";

/** compileUdpRoute resolves a UDPRoute's first rule into a UDP pool. */
export function compileUdpRoute(env: BackendEnv, obj: RouteObject, refs: RouteRefs): L4Rule {
  return compileL4Route(env, obj, refs, "udp");
}
