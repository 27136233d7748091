// never-silent.ts: no annotation in a known prefix is ignored without a word. Each object's
// annotations are read once (annotationVerdict, kept per object): every one the registry does not
// mark implemented or accepted — and every unknown name in those prefixes, a typo most likely — is
// listed on the object (reportAnnotations, the last translate pass) and as a notice, which
// `portico validate`, `explain` and the Ingress's Events show. An unhonoured annotation that grants
// or restricts access makes the Ingress's routes answer 403 (failClosed, the last route applier):
// serving them wider than the user asked would be the silent failure this file exists to prevent.
import type { AnyObject, Condition } from "../../k8s/types.ts";
import type { Route } from "../../model/ir.ts";
import type { TranslateContext } from "../context.ts";
import { generationOf } from "../gateway-conditions.ts";
import { ACCEPTED, keyOf, refOf, type ObjectRef } from "../status.ts";
import type { RouteApplier } from "./apply.ts";
import { knownPrefixOf, lookupAnnotation, type AnnotationStatus } from "./registry.ts";

/** ANNOTATIONS_HONOURED is the condition Gateway API objects get (their status has its own Accepted). */
export const ANNOTATIONS_HONOURED = "portico.dev/AnnotationsHonoured";
/** MIGRATION_DOC is where the registry's table is, named in every message. */
export const MIGRATION_DOC = "docs/migration-annotations.md";

/** Unhonoured is one annotation Portico does not carry out as its product documents it. */
export interface Unhonoured {
  name: string;
  /** status is the registry's, or "unknown" for a name the registry does not list. */
  status: Exclude<AnnotationStatus, "implemented" | "accepted"> | "unknown";
  /** closes says this annotation makes the object's routes fail closed. */
  closes: boolean;
  note: string;
}

/** AnnotationVerdict is what one object's annotations come to. */
export interface AnnotationVerdict {
  /** unhonoured lists every annotation to report, by name. */
  unhonoured: Unhonoured[];
  /** closed is the subset that fails the routes closed (access annotations). */
  closed: Unhonoured[];
}

/** OFF_VALUES are the values that switch an access feature off, which Portico honours by doing nothing. */
const OFF_VALUES = new Set(["false", "off"]);
/** SWITCHES are the access annotations whose "false"/"off" asks for nothing to be enforced. */
const SWITCHES = new Set([
  "nginx.ingress.kubernetes.io/enable-modsecurity",
  "nginx.ingress.kubernetes.io/enable-owasp-core-rules",
]);

/**
 * ACCESS_LOOKING marks unknown ingress-nginx names that look like access settings (auth-…, …-source-range,
 * …-snippet, modsecurity…, allow/deny lists, satisfy): a misspelt auth annotation fails closed too.
 */
const ACCESS_LOOKING =
  /^nginx\.ingress\.kubernetes\.io\/(auth-|.*source-range|.*snippet|.*modsecurity|.*(allow|deny|white|black)list|satisfy)/;

const verdicts = new WeakMap<object, AnnotationVerdict>();

/** annotationVerdict reads an object's known-prefix annotations once (memoised per object). */
export function annotationVerdict(obj: {
  metadata: { annotations?: Record<string, string> };
}): AnnotationVerdict {
  const hit = verdicts.get(obj);
  if (hit) return hit;
  const unhonoured: Unhonoured[] = [];
  for (const [name, raw] of Object.entries(obj.metadata.annotations ?? {})) {
    const prefix = knownPrefixOf(name);
    if (prefix === undefined) continue;
    const entry = lookupAnnotation(name);
    if (entry?.status === "implemented" || entry?.status === "accepted") continue;
    // A hand-written file may carry an unquoted false; it means what "false" means.
    const value = String(raw as unknown)
      .trim()
      .toLowerCase();
    if (entry) {
      const off = SWITCHES.has(name) && OFF_VALUES.has(value);
      unhonoured.push({
        name,
        status: entry.status,
        closes: entry.access === true && !off,
        note: entry.note,
      });
    } else {
      unhonoured.push({
        name,
        status: "unknown",
        closes: ACCESS_LOOKING.test(name),
        note: `not an annotation Portico knows under ${prefix} (misspelt?)`,
      });
    }
  }
  unhonoured.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const v = { unhonoured, closed: unhonoured.filter((u) => u.closes) };
  verdicts.set(obj, v);
  return v;
}

/** describe is one annotation in a message: name, status and the registry's note. */
function describe(u: Unhonoured): string {
  return `${u.name} (${u.status}: ${u.note})`;
}

/** forbiddenBody is what a closed route answers: which annotations, and where to read on. */
export function forbiddenBody(v: AnnotationVerdict): string {
  const names = v.closed.map((u) => `${u.name} (${u.status})`).join(", ");
  return `Forbidden: this route is closed because Portico does not honour ${names}; see ${MIGRATION_DOC}\n`;
}

/**
 * failClosed is the last route applier: a route of an Ingress with an unhonoured access annotation
 * answers 403 and nothing else runs — no backend, no filter that could forward.
 */
export const failClosed: RouteApplier = (_ctx, ing, route): Route => {
  const v = annotationVerdict(ing);
  if (v.closed.length === 0) return route;
  return {
    name: route.name,
    match: route.match,
    action: { type: "DirectResponse", status: 403, body: forbiddenBody(v) },
  };
};

/** KindRule says which objects of a kind are checked and how their condition is written. */
interface KindRule {
  kinds: ReadonlySet<string>;
  /** gatewayApi objects get ANNOTATIONS_HONOURED in their own status shape, not the StatusBook's Accepted. */
  gatewayApi: boolean;
}

const RULES: readonly KindRule[] = [
  { kinds: new Set(["Ingress", "IngressClass", "Service"]), gatewayApi: false },
  { kinds: new Set(["Gateway", "HTTPRoute", "GRPCRoute"]), gatewayApi: true },
];

/**
 * reportAnnotations is the pass (run last): every object Portico took (it has a status entry) whose
 * known-prefix annotations are not all honoured gets a condition naming each, and a notice per
 * annotation with its file and line when it came from one.
 */
export function reportAnnotations(ctx: TranslateContext): void {
  const objects: AnyObject[] = [
    ...ctx.set.ingresses,
    ...ctx.set.ingressClasses,
    ...ctx.set.services,
    ...ctx.set.other,
  ];
  for (const obj of objects) {
    const rule = RULES.find((r) => r.kinds.has(obj.kind));
    if (!rule || obj.metadata.annotations === undefined) continue;
    const ref = refOf(obj);
    if (!ctx.status.has(ref)) continue;
    const v = annotationVerdict(obj);
    if (v.unhonoured.length === 0) continue;
    report(ctx, obj, ref, v, rule.gatewayApi);
  }
}

/** report writes one object's condition and notices. */
function report(
  ctx: TranslateContext,
  obj: AnyObject,
  ref: ObjectRef,
  v: AnnotationVerdict,
  gatewayApi: boolean,
): void {
  const key = keyOf(ref);
  const origin = ctx.set.origins.get(key);
  // In a cluster the origin is a resourceVersion, not a place a user can open.
  const where = origin && !origin.file.startsWith("kube:") ? ` (${origin.file}:${origin.line})` : "";
  // Only an Ingress's routes close: on other kinds the access annotations of ingress-nginx mean nothing.
  const closing = obj.kind === "Ingress" ? v.closed : [];
  for (const u of v.unhonoured) {
    const effect = closing.includes(u) ? "; its routes answer 403" : "";
    ctx.notices.push(
      `${key}: annotation ${describe(u)} is not honoured${effect}${where}; see ${MIGRATION_DOC}`,
    );
  }
  const open = v.unhonoured.filter((u) => !closing.includes(u));
  const openMsg =
    open.length > 0 ? `annotations not honoured: ${open.map(describe).join("; ")}; see ${MIGRATION_DOC}` : "";
  const closedMsg =
    closing.length > 0
      ? `access annotations not honoured, so every route of this Ingress answers 403: ${closing.map(describe).join("; ")}; see ${MIGRATION_DOC}`
      : "";
  if (gatewayApi) {
    gatewayCondition(ctx, obj, ref, [closedMsg, openMsg].filter((m) => m !== "").join("; "));
    return;
  }
  if (closedMsg) ctx.status.fail(ref, ACCEPTED, "AccessAnnotationNotHonoured", closedMsg);
  if (openMsg) ctx.status.warn(ref, ACCEPTED, "AnnotationNotHonoured", openMsg);
}

/**
 * gatewayCondition adds ANNOTATIONS_HONOURED=False beside a Gateway API object's own conditions: on
 * a Gateway at the top, on a route in each parent entry (a route's status has nowhere else).
 */
function gatewayCondition(ctx: TranslateContext, obj: AnyObject, ref: ObjectRef, message: string): void {
  const cond: Condition = {
    type: ANNOTATIONS_HONOURED,
    status: "False",
    reason: "AnnotationNotHonoured",
    message,
  };
  const gen = generationOf(obj);
  if (gen !== undefined) cond.observedGeneration = gen;
  if (obj.kind === "Gateway") {
    const conds = (ctx.status.fieldOf(ref, "conditions") ?? []) as Condition[];
    ctx.status.field(ref, "conditions", [...conds, cond]);
    return;
  }
  const parents = (ctx.status.fieldOf(ref, "parents") ?? []) as { conditions?: Condition[] }[];
  ctx.status.field(
    ref,
    "parents",
    parents.map((p) => ({ ...p, conditions: [...(p.conditions ?? []), cond] })),
  );
}
