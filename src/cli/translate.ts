// translate.ts: `portico translate` — what the manifests produce (offline from DIR, or what a
// running Portico serves with --admin): the engine snapshot, VIP allocations, pools and statuses.
import { parseCommon } from "./args.ts";
import { answer } from "./offline.ts";
import { isDoc, renderDoc } from "./render.ts";
import { translateDoc } from "../controller/views.ts";
import { renderTable, type Row } from "../controller/tables.ts";

/** TranslateDoc is the document translate prints. */
type TranslateDoc = ReturnType<typeof translateDoc>;

/** summary is `-o table`: a line per listener (address, port, protocol), then a line per VIP
 * request with what IPAM answered; `-o wide` adds each listener's EngineGroup and what it serves. */
export function summary(doc: TranslateDoc, wide: boolean): string {
  const listeners: Row[] = [
    ...doc.snapshot.http.map((l) => ({
      ADDRESS: l.address,
      PORT: String(l.port),
      PROTOCOL: l.tls ? "HTTPS" : "HTTP",
      LISTENER: l.name,
      ...(wide
        ? { GROUP: l.group ?? "default", SERVES: l.virtualHosts.map((vh) => vh.hostname).join(",") || "-" }
        : {}),
    })),
    ...doc.snapshot.l4.map((l) => ({
      ADDRESS: l.address,
      PORT: String(l.port),
      PROTOCOL: l.protocol,
      LISTENER: l.name,
      ...(wide ? { GROUP: l.group ?? "default", SERVES: `pool ${l.pool}` } : {}),
    })),
  ];
  const vips: Row[] = Object.entries(doc.allocations).map(([key, r]) => ({
    "VIP REQUEST": key,
    ADDRESSES: r.ok ? r.addresses.join(",") : "<pending>",
    POOL: r.ok ? [...new Set(r.pools)].join(",") : "-",
    ...(wide ? { WHY: r.ok ? "" : r.message } : {}),
  }));
  return `${renderTable(listeners)}\n${renderTable(vips)}`;
}

/** main prints the document; exit 1 when any manifest has an error. */
export async function main(argv: string[]): Promise<number> {
  const flags = parseCommon(argv);
  const { doc } = await answer<TranslateDoc>(flags, flags.positionals, "/api/v1/translate", (i) =>
    translateDoc(i.set, i.out),
  );
  const output = flags.output ?? "yaml";
  process.stdout.write(isDoc(output) ? renderDoc(doc, output) : summary(doc, output === "wide"));
  return doc.errors.length + doc.invalid.length > 0 ? 1 : 0;
}
