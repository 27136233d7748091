// dns01.ts: DNS-01 through Portico's own DNS. Before the CA is told to look, every pending TXT
// record must be answered by every DNS server that serves its zone: the record is in the served
// snapshot, and each of those servers' UDP and TCP listeners is bound on every engine that should
// serve it (a fleet engine that has not acked the push shows as pending, fleet-status.ts). A CA
// that asked too early would get NXDOMAIN, and a caching resolver would keep that for the zone's
// negative TTL, failing the retries too; so the order waits here instead, bounded.
import type { ListenerStatus } from "../../engine/listeners.ts";
import type { DnsServer, EngineSnapshot } from "../../model/ir.ts";
import type { AcmeTxt } from "../../translate/acme-txt.ts";

/** DnsView is what the wait reads of the controller: the served snapshot and the listeners' state. */
export interface DnsView {
  snapshot(): EngineSnapshot | undefined;
  listenerStatus(): ListenerStatus[];
}

/** TXT_SERVED_TIMEOUT_MS bounds the wait for the engines to answer a challenge record. */
export const TXT_SERVED_TIMEOUT_MS = 30_000;

/** txtUnserved says why records are not answered yet by view's engines; undefined when they all are. */
export function txtUnserved(view: DnsView, records: readonly AcmeTxt[]): string | undefined {
  const servers = view.snapshot()?.dns ?? [];
  const listeners = view.listenerStatus();
  for (const t of records) {
    const holding = servers.filter((s) => holds(s, t));
    if (holding.length === 0) return `${t.name} TXT is in no DNS server's zone yet`;
    for (const s of holding) {
      for (const protocol of ["UDP", "TCP"] as const) {
        const l = listeners.find(
          (x) => x.protocol === protocol && x.address === s.address && x.port === s.port,
        );
        if (l?.state !== "bound")
          return `DNS server ${s.name} (${s.address}:${s.port}/${protocol}) is ${l ? `${l.state}${l.error ? `: ${l.error}` : ""}` : "not listening"}`;
      }
    }
  }
  return undefined;
}

/** awaitTxtServed resolves once txtUnserved is clear; rejects with its last reason after timeoutMs. */
export async function awaitTxtServed(
  view: DnsView,
  records: readonly AcmeTxt[],
  timeoutMs = TXT_SERVED_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
    const why = txtUnserved(view, records);
    if (why === undefined) return;
    if (Date.now() > deadline)
      throw new Error(`DNS-01 record not served within ${timeoutMs / 1000} s (the CA was not asked): ${why}`);
    // Listener state arrives from the engines asynchronously; this is a bounded poll of it.
    await new Promise((r) => setTimeout(r, wait));
  }
}

// holds says whether server s answers TXT record t.
function holds(s: DnsServer, t: AcmeTxt): boolean {
  return s.zones.some((z) =>
    z.records.some((r) => r.type === "TXT" && r.name === t.name && r.value === t.value),
  );
}
