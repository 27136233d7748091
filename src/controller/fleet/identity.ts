// identity.ts: what the hub accepts as an engine's identity in a Hello. Names become map keys,
// log fields, metric labels and table cells, so they are checked before anything uses them.
import type { EngineIdentity } from "../../link/protocol.ts";

// A DNS label-ish name: what a pod name or a hostname is.
const NAME = /^[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?$/i;

/** checkIdentity returns why e is not a usable identity (the refusal's reason), or undefined. */
export function checkIdentity(e: Partial<EngineIdentity> | undefined): string | undefined {
  if (e === undefined || typeof e !== "object")
    return "the hello carries no engine identity (engine: {name, group, node, ...})";
  for (const field of ["name", "group", "node"] as const) {
    const v = e[field];
    if (typeof v !== "string" || !NAME.test(v))
      return `engine.${field} ${JSON.stringify(v ?? null)} is not a name (letters, digits, '.', '_', '-'; up to 253): set --name or the hostname`;
  }
  for (const field of ["pid", "vcpu", "memoryBytes"] as const)
    if (typeof e[field] !== "number" || !Number.isFinite(e[field]))
      return `engine.${field} must be a number; run the same Portico version on the engine and the controller`;
  if (typeof e.version !== "string") return "engine.version must be a string";
  return undefined;
}
