// vip-table.ts: the table `portico run` prints once serving: every VIP, port and what it serves
// (HTTP, L4 and DNS).
import type { EngineSnapshot } from "../model/ir.ts";
import { listenerKey, type ListenerStatus } from "../engine/listeners.ts";

function hostPort(address: string, port: number): string {
  return `${address.includes(":") ? `[${address}]` : address}:${port}`;
}

/**
 * vipTable lists listeners with copy-paste curl/nc/dig lines; a listener whose socket could not bind
 * (per bind, the engine's listener status) gets a NOT SERVING line with the error instead.
 */
export function vipTable(s: EngineSnapshot, adminUrl: string, bind: readonly ListenerStatus[] = []): string {
  const failed = new Map(bind.filter((b) => b.state === "error").map((b) => [b.key, b]));
  const lines = ["", "Portico is serving:", ""];
  // notServing prints why a listener is not serving and answers true, or answers false.
  const notServing = (protocol: string, address: string, port: number): boolean => {
    const f = failed.get(listenerKey(protocol, address, port));
    if (f === undefined) return false;
    lines.push(`        NOT SERVING: cannot bind: ${f.error}; retrying (see ${adminUrl}/readyz)`);
    return true;
  };
  for (const l of s.http) {
    const scheme = l.tls ? "https" : "http";
    lines.push(`  ${scheme.toUpperCase().padEnd(5)} ${hostPort(l.address, l.port).padEnd(22)} ${l.name}`);
    if (notServing("TCP", l.address, l.port)) continue;
    for (const vh of l.virtualHosts) {
      const name = vh.hostname === "*" ? "anything" : vh.hostname.replace(/^\*\./, "www.");
      const insecure = l.tls ? " -k" : "";
      // One line per distinct literal path (longest first, as routing prefers), a few per host.
      const paths = [
        ...new Set(
          vh.routes.filter((r) => r.match.path.type !== "RegularExpression").map((r) => r.match.path.value),
        ),
      ].slice(0, 4);
      for (const path of paths.length > 0 ? paths : ["/"]) {
        lines.push(
          `        curl${insecure} --resolve ${name}:${l.port}:${l.address} ${scheme}://${name}:${l.port}${path}`,
        );
      }
    }
  }
  for (const l of s.l4) {
    const cmd =
      l.protocol === "UDP"
        ? `echo hi | nc -u -w1 ${l.address} ${l.port}`
        : `echo hi | nc -q1 ${l.address} ${l.port}`;
    lines.push(`  ${l.protocol.padEnd(5)} ${hostPort(l.address, l.port).padEnd(22)} ${l.name}`);
    if (!notServing(l.protocol, l.address, l.port)) lines.push(`        ${cmd}`);
  }
  for (const d of s.dns ?? []) {
    lines.push(`  ${"DNS".padEnd(5)} ${hostPort(d.address, d.port).padEnd(22)} ${d.name} (UDP and TCP)`);
    if (notServing("UDP", d.address, d.port) || notServing("TCP", d.address, d.port)) continue;
    for (const z of d.zones) {
      // One published name per zone shows an answer; the apex's SOA otherwise.
      const named = z.records.find((r) => r.type === "A" || r.type === "AAAA");
      const [name, type] = named && !named.name.startsWith("*") ? [named.name, named.type] : [z.name, "SOA"];
      lines.push(`        dig @${d.address} -p ${d.port} ${name} ${type}`);
    }
  }
  if (s.http.length + s.l4.length + (s.dns ?? []).length === 0)
    lines.push("  nothing yet: no VIP allocated (see 'portico get services' and 'portico explain')");
  if (failed.size > 0)
    lines.push(
      "",
      `${failed.size} listener(s) cannot bind: not ready until they do (${adminUrl}/api/v1/errors).`,
    );
  lines.push("", `Admin API: ${adminUrl}/readyz  ${adminUrl}/api/v1/status  ${adminUrl}/metrics`, "");
  return lines.join("\n") + "\n";
}
