// misdirect.ts: detects misdirected requests (RFC 9110 §15.5.20) on a port shared by several
// Gateway HTTPS listeners. The connection's SNI chose one listener (and its certificate); a
// request whose Host belongs to another listener — HTTP/2 connection coalescing, or a client that
// reuses a connection across names — must not be served by the wrong listener's routes: it gets
// 421 and retries on a connection of its own. Listener choice is the TLS one: exact hostname,
// then the longest wildcard suffix, then the listener without hostname ("*").
import { HostMap } from "./host-map.ts";

/** MisdirectCheck says whether a request's Host belongs to another listener than its connection's SNI. */
export type MisdirectCheck = (servername: string | undefined, host: string) => boolean;

/**
 * compileMisdirect builds the check for a listener's hostnames, or undefined when fewer than two
 * listeners share the port (one certificate group: Host alone routes, as for Ingress).
 */
export function compileMisdirect(hostnames: readonly string[] | undefined): MisdirectCheck | undefined {
  if (hostnames === undefined || hostnames.length < 2) return undefined;
  const listeners = new HostMap<number>();
  hostnames.forEach((h, i) => listeners.add(h, i));
  return (servername, host) => {
    // No SNI (a client connecting by address): nothing chose a listener, Host routes as before.
    if (servername === undefined || servername === "") return false;
    const chosen = listeners.lookup(servername);
    return chosen !== undefined && listeners.lookup(host) !== chosen;
  };
}

/** servernameOf reads the SNI a TLS socket was opened with (undefined: plain TCP or no SNI). */
export function servernameOf(socket: unknown): string | undefined {
  const name = (socket as { servername?: unknown } | undefined)?.servername;
  return typeof name === "string" ? name : undefined;
}
