// host-map.ts: the listener's virtual host lookup. Exact names are one Map probe; wildcards are
// probed by walking the request host's dots left to right, so the longest suffix wins in
// O(labels) instead of a scan over every virtual host. A single-label wildcard (Ingress
// "*.foo.com") is only tried at the first dot, where exactly one label stands before the suffix.

/** HostMap finds the value registered for a request's Host header. */
export class HostMap<T> {
  private readonly exact = new Map<string, T>();
  // Keys are suffixes with their leading dot: "*.example.com" is stored as ".example.com".
  private readonly wildcard = new Map<string, { value: T; singleLabel: boolean }>();
  private any: T | undefined;

  /**
   * add registers hostname (exact, "*.suffix" or "*"); the first registration of a name wins.
   * singleLabel makes a wildcard match exactly one label ("a.foo.com", not "a.b.foo.com").
   */
  add(hostname: string, value: T, singleLabel = false): void {
    const name = normalizeHost(hostname);
    if (name === "*") {
      if (this.any === undefined) this.any = value;
    } else if (name.startsWith("*.")) {
      const suffix = name.slice(1);
      if (!this.wildcard.has(suffix)) this.wildcard.set(suffix, { value, singleLabel });
    } else if (!this.exact.has(name)) {
      this.exact.set(name, value);
    }
  }

  /** lookup returns the value for a raw Host header value (port, case and trailing dot ignored). */
  lookup(rawHost: string): T | undefined {
    const host = normalizeHost(stripPort(rawHost));
    const hit = this.exact.get(host);
    if (hit !== undefined) return hit;
    if (this.wildcard.size > 0) {
      // A wildcard needs at least one label before its suffix, so start after the first char.
      const first = host.indexOf(".", 1);
      for (let dot = first; dot !== -1; dot = host.indexOf(".", dot + 1)) {
        const w = this.wildcard.get(host.slice(dot));
        if (w !== undefined && (dot === first || !w.singleLabel)) return w.value;
      }
    }
    return this.any;
  }
}

/** normalizeHost lower-cases a host name and drops one trailing dot. */
export function normalizeHost(host: string): string {
  let h = host;
  if (h.endsWith(".")) h = h.slice(0, -1);
  // Most Host headers are already lower case; skip the allocation then.
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c >= 65 && c <= 90) return h.toLowerCase();
  }
  return h;
}

/** stripPort removes ":port" from a Host value, keeping IPv6 literals ("[::1]:80" → "[::1]"). */
export function stripPort(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf("]");
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}
