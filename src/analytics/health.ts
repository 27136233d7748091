// health.ts: the health score of a virtual service, an engine group and a pool of addresses —
// 0 to 100, with the reasons that lowered it (issue 15 item 4). Pure.
// CONTRACT STUB (lead, 3146fde+): helper ana-health replaces the body; the signature is what
// store.ts calls.
import type { Health } from "./types.ts";

/** ServiceHealthInput are a virtual service's figures over the scored window. */
export interface ServiceHealthInput {
  requests: number;
  /** errors are 5xx responses and broken exchanges (status 0). */
  errors: number;
  /** apdex against the service's latency target (1 when no request). */
  apdex: number;
  targetMs: number;
  backendsDown: number;
  backendsTotal: number;
  /** saturation is the busiest serving engine's event-loop utilisation (0..1), when known. */
  saturation?: number;
  /** attacks are requests a WAF blocked or would have blocked. */
  attacks: number;
}

/** serviceHealth scores one virtual service. */
export function serviceHealth(input: ServiceHealthInput): Health {
  void input;
  return { score: 100, reasons: [] };
}
