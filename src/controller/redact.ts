// redact.ts: what may be printed of a snapshot. Private keys never leave the process.
import type { EngineSnapshot } from "../model/ir.ts";

/** redactSnapshot returns a copy of s with every private key replaced by a marker. */
export function redactSnapshot(s: EngineSnapshot): EngineSnapshot {
  const certificates = Object.fromEntries(
    Object.entries(s.certificates).map(([name, c]) => [name, { certPem: c.certPem, keyPem: "<redacted>" }]),
  );
  return { ...s, certificates };
}
