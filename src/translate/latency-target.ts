// latency-target.ts: the latency target (Apdex T) of each virtual service, from the
// portico.dev/latency-target annotation of the object that made it (issue 15 item 4): a
// LoadBalancer Service (each of its L4 listeners), a Gateway (each of its listeners; every virtual
// host of its HTTP listeners) or an Ingress (each virtual host its routes are on, on the class's
// shared VIP or its own). Run after the listeners are built; keys are vsKey() of the analytics
// contract. A value Portico cannot use is reported on the object with what to write, and the 500 ms
// default applies; two Ingresses on one host asking for different targets: the oldest wins (the
// rule the shared VIP's other settings follow) and the other is told.
import type { AnyObject, Condition } from "../k8s/types.ts";
import { LATENCY_TARGET_ANNOTATION, vsKey } from "../analytics/types.ts";
import { annotation, requestOrder, type TranslateContext } from "./context.ts";
import { generationOf } from "./gateway-conditions.ts";
import { ANNOTATIONS_HONOURED } from "./nginx/never-silent.ts";
import { ACCEPTED, keyOf, refOf } from "./status.ts";

/** MIN_TARGET_MS and MAX_TARGET_MS bound a latency target (1 ms to 60 s). */
export const MIN_TARGET_MS = 1;
export const MAX_TARGET_MS = 60_000;

/** parseLatencyTarget reads "250ms", "1s", "1.5s" (ms or s, decimals allowed) within 1 ms..60 s, or undefined. */
export function parseLatencyTarget(text: string): number | undefined {
  const m = /^(\d{1,6}(?:\.\d{1,3})?)(ms|s)$/.exec(text.trim());
  if (m === null) return undefined;
  const ms = Math.round(Number(m[1]) * (m[2] === "s" ? 1000 : 1) * 1000) / 1000;
  return ms >= MIN_TARGET_MS && ms <= MAX_TARGET_MS ? ms : undefined;
}

/** Claim is one object's valid target, with what orders it (oldest first). */
interface Claim {
  key: string;
  order: string;
  ms: number;
}

/** latencyTargets is the pass: it fills ctx.targetsMs and reports bad values and conflicts. */
export function latencyTargets(ctx: TranslateContext): void {
  const claims = new Map<string, Claim>();
  const objects: AnyObject[] = [...ctx.set.services, ...ctx.set.ingresses, ...ctx.set.other];
  for (const obj of objects) {
    if (obj.kind !== "Service" && obj.kind !== "Ingress" && obj.kind !== "Gateway") continue;
    const raw = annotation(obj, LATENCY_TARGET_ANNOTATION);
    const ref = refOf(obj);
    if (raw === undefined || !ctx.status.has(ref)) continue;
    const key = keyOf(ref);
    const ms = parseLatencyTarget(raw);
    if (ms !== undefined) {
      claims.set(key, { key, order: requestOrder(obj, key), ms });
      continue;
    }
    const message = `${LATENCY_TARGET_ANNOTATION}: ${JSON.stringify(raw)} is not a duration from 1ms to 60s; write one like "250ms" or "1.5s" (the 500 ms default applies)`;
    warn(ctx, obj, "InvalidAnnotation", message);
  }
  if (claims.size === 0) return;
  // L4 listeners and every virtual host of a Gateway's HTTP listeners take their owner's target.
  for (const l of ctx.l4) {
    const c = claims.get(ownerOf(l.name));
    if (c) ctx.targetsMs[vsKey(l.name)] = c.ms;
  }
  const losers = new Map<string, string[]>();
  for (const l of ctx.http) {
    const owner = claims.get(ownerOf(l.name));
    // A Gateway's TLS passthrough routes make a "tls" virtual service keyed by the listener.
    if (owner?.key.startsWith("Gateway/") && (l.sniRoutes?.length ?? 0) > 0)
      ctx.targetsMs[vsKey(l.name)] = owner.ms;
    for (const vh of l.virtualHosts) {
      if (owner?.key.startsWith("Gateway/")) {
        ctx.targetsMs[vsKey(l.name, vh.hostname)] = owner.ms;
        continue;
      }
      // An Ingress host: the Ingresses whose routes it holds, oldest first.
      const mine = [...new Set(vh.routes.map((r) => r.name.split("#")[0]!))]
        .map((k) => claims.get(k))
        .filter((c): c is Claim => c !== undefined && c.key.startsWith("Ingress/"))
        .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
      const win = mine[0];
      if (!win) continue;
      ctx.targetsMs[vsKey(l.name, vh.hostname)] = win.ms;
      for (const c of mine.slice(1))
        if (c.ms !== win.ms) {
          const line = `host ${vh.hostname} on ${l.name} uses ${win.ms} ms from ${win.key} (older)`;
          const list = losers.get(c.key) ?? [];
          if (!list.includes(line)) losers.set(c.key, [...list, line]);
        }
    }
  }
  for (const [key, lines] of losers) {
    const obj = ctx.set.ingresses.find((i) => keyOf(refOf(i)) === key)!;
    const mine = claims.get(key)!.ms;
    const message = `${LATENCY_TARGET_ANNOTATION} (${mine} ms) not used where another Ingress shares the host: ${lines.join("; ")}`;
    warn(ctx, obj, "LatencyTargetConflict", message);
  }
}

/** ownerOf is the object key a listener name starts with ("Service/ns/a:53/UDP" → "Service/ns/a"). */
function ownerOf(listener: string): string {
  const colon = listener.lastIndexOf(":");
  return colon < 0 ? listener : listener.slice(0, colon);
}

/**
 * warn reports on the object and as a notice (`portico validate`). A Gateway's status has its own
 * conditions, so it gets AnnotationsHonoured=False there (joined to one already written).
 */
function warn(ctx: TranslateContext, obj: AnyObject, reason: string, message: string): void {
  const ref = refOf(obj);
  ctx.notices.push(`${keyOf(ref)}: ${message}`);
  if (obj.kind !== "Gateway") {
    ctx.status.warn(ref, ACCEPTED, reason, message);
    return;
  }
  const conds = (ctx.status.fieldOf(ref, "conditions") ?? []) as Condition[];
  const old = conds.find((c) => c.type === ANNOTATIONS_HONOURED);
  const cond: Condition = old
    ? { ...old, message: `${old.message}; ${message}` }
    : { type: ANNOTATIONS_HONOURED, status: "False", reason, message };
  const gen = generationOf(obj);
  if (!old && gen !== undefined) cond.observedGeneration = gen;
  ctx.status.field(ref, "conditions", [...conds.filter((c) => c !== old), cond]);
}

/** servedTargets keeps the targets of virtual services a listener with an address serves (pending VIPs have none). */
export function servedTargets(
  targets: Readonly<Record<string, number>>,
  l4: readonly { name: string }[],
  http: readonly {
    name: string;
    virtualHosts: readonly { hostname: string }[];
    sniRoutes?: readonly unknown[];
  }[],
): Record<string, number> {
  const served = new Set(l4.map((l) => vsKey(l.name)));
  for (const l of http) {
    if ((l.sniRoutes?.length ?? 0) > 0) served.add(vsKey(l.name));
    for (const vh of l.virtualHosts) served.add(vsKey(l.name, vh.hostname));
  }
  return Object.fromEntries(Object.entries(targets).filter(([k]) => served.has(k)));
}
