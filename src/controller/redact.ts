// redact.ts: what may be printed of a snapshot. Private keys never leave the process.
import type { EngineSnapshot } from "../model/ir.ts";

/** redactSnapshot returns a copy of s with every private key replaced by a marker. */
export function redactSnapshot(s: EngineSnapshot): EngineSnapshot {
  const certificates = Object.fromEntries(
    Object.entries(s.certificates).map(([name, c]) => [name, { certPem: c.certPem, keyPem: "<redacted>" }]),
  );
  const out = { ...s, certificates };
  // A slice's BGP passwords are secrets too.
  if (s.announce?.bgp)
    out.announce = {
      ...s.announce,
      bgp: redactGroups({ g: { bgp: s.announce.bgp } }).g!.bgp!,
    };
  return out;
}

/** redactGroups returns groups with every BGP peer's password replaced by a marker. */
export function redactGroups<T extends { bgp?: { peers: { password?: string }[] } }>(
  groups: Readonly<Record<string, T>>,
): Record<string, T> {
  return Object.fromEntries(
    Object.entries(groups).map(([name, g]) => [
      name,
      g.bgp
        ? {
            ...g,
            bgp: {
              ...g.bgp,
              peers: g.bgp.peers.map((p) =>
                p.password === undefined ? p : { ...p, password: "<redacted>" },
              ),
            },
          }
        : g,
    ]),
  );
}
