// ingress-nginx.ts: `portico migrate ingress-nginx` — ingress-nginx's IngressClasses become
// Portico's (same name, Portico's controller), Ingresses that name them by the legacy annotation
// name them by spec.ingressClassName, every nginx.ingress.kubernetes.io/ annotation is checked
// against the registry (kept; the ones Portico does not honour are reported), and the controller
// ConfigMap's settings become annotations on the migrated Ingresses where Portico has them.
import { ANN_LEGACY_CLASS, INGRESS_CONTROLLER } from "../translate/ingress-class.ts";
import { KNOWN_ANNOTATIONS, type KnownAnnotation } from "../translate/nginx/registry.ts";
import type { Report, Severity } from "./report.ts";
import { isObject, objectLabel, type InputObject, type Workspace } from "./workspace.ts";
import { DROP_TLS, SAME_NAME, TLS_KEYS, WHY_NOT } from "./nginx-configmap.ts";

/** NGINX_CONTROLLER is ingress-nginx's IngressClass spec.controller. */
export const NGINX_CONTROLLER = "k8s.io/ingress-nginx";
/** NGINX_PREFIX is ingress-nginx's annotation prefix. */
export const NGINX_PREFIX = "nginx.ingress.kubernetes.io/";
/** CONFIGMAP_NAMES are the names the ingress-nginx controller's ConfigMap has in its manifests and chart. */
export const CONFIGMAP_NAMES = ["ingress-nginx-controller", "nginx-configuration"];

/** NginxOptions: registry defaults to KNOWN_ANNOTATIONS (tests pass their own). */
export interface NginxOptions {
  registry?: readonly KnownAnnotation[];
}

type Json = Record<string, unknown>;

const meta = (o: InputObject): Json => (isObject(o.obj.metadata) ? o.obj.metadata : {});
const annotations = (o: InputObject): Record<string, string> => {
  const a = meta(o).annotations;
  return isObject(a) ? (a as Record<string, string>) : {};
};
const spec = (o: InputObject): Json => (isObject(o.obj.spec) ? o.obj.spec : {});

/** migrateIngressNginx rewrites the workspace's ingress-nginx objects; see the file comment. */
export function migrateIngressNginx(ws: Workspace, report: Report, opts: NginxOptions = {}): void {
  const registry = new Map((opts.registry ?? KNOWN_ANNOTATIONS).map((a) => [a.name, a]));
  // A finding's line is its field's: metadata.annotations.KEY, data.KEY, spec.FIELD.
  const note = (o: InputObject, severity: Severity, field: string, message: string) => {
    const path = field.startsWith("metadata.annotations.")
      ? ["metadata", "annotations", field.slice("metadata.annotations.".length)]
      : field.split(".", 2);
    const line = ws.lineOf(o, path);
    report.add({ severity, file: o.file, line, object: objectLabel(o.obj), field, message });
  };
  const isKind = (o: InputObject, api: string, kind: string) =>
    o.obj.apiVersion === api && o.obj.kind === kind;

  const classes = ws.objects.filter((o) => isKind(o, "networking.k8s.io/v1", "IngressClass"));
  const nginx = new Set<string>(["nginx"]);
  let defaultNginx = false;
  for (const c of classes) {
    const name = String(meta(c).name);
    if (spec(c).controller !== NGINX_CONTROLLER) {
      if (spec(c).controller !== INGRESS_CONTROLLER) nginx.delete(name);
      continue;
    }
    nginx.add(name);
    if (annotations(c)["ingressclass.kubernetes.io/is-default-class"] === "true") defaultNginx = true;
    ws.set(c, ["spec", "controller"], INGRESS_CONTROLLER);
    if (spec(c).parameters !== undefined) {
      ws.delete(c, ["spec", "parameters"]);
      note(
        c,
        "lost",
        "spec.parameters",
        "not carried: ingress-nginx's class parameters have no meaning to Portico (an EngineGroup is the only parameter it reads)",
      );
    }
  }
  const ingresses = ws.objects.filter((o) => isKind(o, "networking.k8s.io/v1", "Ingress"));
  const migrated: InputObject[] = [];
  for (const ing of ingresses) {
    const byField = spec(ing).ingressClassName;
    const byAnn = annotations(ing)[ANN_LEGACY_CLASS];
    const cls = typeof byField === "string" ? byField : byAnn;
    if (cls === undefined ? !defaultNginx : !nginx.has(cls)) continue;
    migrated.push(ing);
    if (typeof byField !== "string" && byAnn !== undefined) {
      ws.delete(ing, ["metadata", "annotations", ANN_LEGACY_CLASS]);
      ws.setFirst(ing, ["spec"], "ingressClassName", byAnn);
      note(
        ing,
        "carried",
        `metadata.annotations.${ANN_LEGACY_CLASS}`,
        `the deprecated annotation became spec.ingressClassName: ${byAnn}`,
      );
    }
    for (const [key, value] of Object.entries(annotations(ing)).sort()) {
      if (!key.startsWith(NGINX_PREFIX)) continue;
      const known = registry.get(key);
      const at = `metadata.annotations.${key}`;
      if (!known)
        note(
          ing,
          "lost",
          at,
          `${JSON.stringify(value)}: not known to Portico; it has no effect (reported on the Ingress too)`,
        );
      else if (known.status === "accepted")
        note(ing, "carried", at, `accepted with no effect: ${known.note}`);
      else if (known.status !== "implemented")
        note(
          ing,
          "lost",
          at,
          `${known.status}: ${known.note}${known.access ? " — the routes it guards answer 403 (fail closed) until it is replaced" : ""}`,
        );
    }
  }
  // Ingresses name a class nobody defined here: Portico's class of that name is written alongside.
  const named = new Set(migrated.map((i) => spec(i).ingressClassName ?? annotations(i)[ANN_LEGACY_CLASS]));
  for (const n of [...named].filter((n): n is string => typeof n === "string").sort()) {
    if (classes.some((c) => meta(c).name === n)) continue;
    ws.add(`ingressclass-${n}.yaml`, {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: n },
      spec: { controller: INGRESS_CONTROLLER },
    });
  }
  // ingress-nginx redirects HTTP to HTTPS for TLS hosts unless its ConfigMap says not to.
  let sslDefault = "true";
  for (const cm of ws.objects.filter(
    (o) => isKind(o, "v1", "ConfigMap") && CONFIGMAP_NAMES.includes(String(meta(o).name)),
  ))
    sslDefault = configMap(ws, cm, migrated, registry, note) ?? sslDefault;
  for (const ing of migrated) sslRedirect(ws, ing, sslDefault, note);
}

type Note = (o: InputObject, severity: Severity, field: string, message: string) => void;

// configMap carries the controller ConfigMap's settings onto the migrated Ingresses; it returns ssl-redirect.
function configMap(
  ws: Workspace,
  cm: InputObject,
  ings: InputObject[],
  registry: Map<string, KnownAnnotation>,
  note: Note,
): string | undefined {
  const data = isObject(cm.obj.data) ? (cm.obj.data as Record<string, unknown>) : {};
  const tls = ings.filter((i) => Array.isArray(spec(i).tls) && (spec(i).tls as unknown[]).length > 0);
  const onto = (targets: InputObject[], ann: string, value: string) => {
    let n = 0;
    for (const i of targets)
      if (annotations(i)[ann] === undefined) {
        ws.set(i, ["metadata", "annotations", ann], value);
        n++;
      }
    return n;
  };
  for (const [key, raw] of Object.entries(data).sort()) {
    const value = String(raw);
    const field = `data.${key}`;
    if (key === "ssl-redirect") continue; // sslRedirect below reads it per Ingress
    if ((SAME_NAME as readonly string[]).includes(key)) {
      // Copied whatever the registry says, so the output does not change as Portico learns more
      // annotations; one Portico does not honour is reported here and on each Ingress.
      const ann = NGINX_PREFIX + key;
      const status = registry.get(ann)?.status;
      const n = onto(ings, ann, value);
      const set = `${JSON.stringify(value)} set as ${ann} on ${n} Ingress(es) that did not set it`;
      if (status === "implemented" || status === "accepted") note(cm, "carried", field, set);
      else
        note(
          cm,
          "lost",
          field,
          `${set}, but Portico does not honour it (${status ?? "not in its registry"}): no effect`,
        );
      continue;
    }
    const tlsAnn = TLS_KEYS[key];
    if (tlsAnn !== undefined) {
      let v = value;
      if (key === "ssl-protocols") {
        const kept = value.split(/\s+/).filter((p) => p !== "" && !DROP_TLS.has(p));
        const dropped = value.split(/\s+/).filter((p) => DROP_TLS.has(p));
        if (dropped.length > 0)
          note(
            cm,
            "lost",
            field,
            `${dropped.join(" ")} not carried: Portico refuses TLS below 1.2 (RFC 8996)`,
          );
        if (kept.length === 0) continue;
        v = kept.join(" ");
      }
      const n = onto(tls, tlsAnn, v);
      note(cm, "carried", field, `${JSON.stringify(v)} set as ${tlsAnn} on ${n} Ingress(es) with TLS`);
      continue;
    }
    if (key === "allow-snippet-annotations" && value === "false") continue; // Portico's behaviour already
    note(
      cm,
      "lost",
      field,
      `${JSON.stringify(value)} not carried: ${WHY_NOT[key] ?? "no Portico equivalent (docs/migration.md lists what Portico reads)"}`,
    );
  }
  return data["ssl-redirect"] === undefined ? undefined : String(data["ssl-redirect"]);
}

// sslRedirect makes ingress-nginx's redirect of a TLS Ingress explicit: Portico redirects only when asked.
function sslRedirect(ws: Workspace, ing: InputObject, sslDefault: string, note: Note) {
  const ann = `${NGINX_PREFIX}ssl-redirect`;
  const tls = Array.isArray(spec(ing).tls) && (spec(ing).tls as unknown[]).length > 0;
  if (!tls || annotations(ing)[ann] !== undefined) return;
  ws.set(ing, ["metadata", "annotations", ann], sslDefault);
  note(
    ing,
    "carried",
    `metadata.annotations.${ann}`,
    `set to ${JSON.stringify(sslDefault)}: ingress-nginx's default for an Ingress with TLS, made explicit`,
  );
}
