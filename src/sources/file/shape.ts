// shape.ts: the few structural checks that would otherwise crash a translator pass (a list written
// as a mapping, a label value that is a number). Field semantics stay the translator's job: it
// reports them as status conditions, which the kube source must produce the same way.

/** ShapeProblem is one failed check: the path (for a line number) and what to do about it. */
export interface ShapeProblem {
  path: (string | number)[];
  message: string;
}

/** Want is the shape a field must have when present. */
type Want = "map" | "list" | "strings" | "stringMap";

/** Rule checks one dotted path; "[]" means every element of a list. */
interface Rule {
  path: string;
  want: Want;
  required?: boolean;
}

const routeRules: Rule[] = [
  { path: "spec.parentRefs", want: "list" },
  { path: "spec.hostnames", want: "strings" },
  { path: "spec.rules", want: "list" },
  { path: "spec.rules[].matches", want: "list" },
  { path: "spec.rules[].filters", want: "list" },
  { path: "spec.rules[].backendRefs", want: "list" },
];

const common: Rule[] = [
  { path: "metadata.labels", want: "stringMap" },
  { path: "metadata.annotations", want: "stringMap" },
  { path: "spec", want: "map" },
];

/** RULES lists the checks per kind, after the common ones. */
const RULES: Record<string, Rule[]> = {
  Service: [
    { path: "spec.ports", want: "list" },
    { path: "spec.selector", want: "stringMap" },
    { path: "spec.externalIPs", want: "strings" },
  ],
  EndpointSlice: [
    { path: "endpoints", want: "list" },
    { path: "endpoints[].addresses", want: "strings" },
    { path: "endpoints[].conditions", want: "map" },
    { path: "ports", want: "list" },
  ],
  Ingress: [
    { path: "spec.rules", want: "list" },
    { path: "spec.rules[].http", want: "map" },
    { path: "spec.rules[].http.paths", want: "list" },
    { path: "spec.tls", want: "list" },
    { path: "spec.tls[].hosts", want: "strings" },
    { path: "spec.defaultBackend", want: "map" },
  ],
  Secret: [
    { path: "data", want: "stringMap" },
    { path: "stringData", want: "stringMap" },
  ],
  Namespace: [],
  ConfigMap: [{ path: "data", want: "stringMap" }],
  IngressClass: [],
  VipPool: [
    { path: "spec", want: "map", required: true },
    { path: "spec.addresses", want: "strings", required: true },
  ],
  EngineGroup: [{ path: "spec", want: "map" }],
  DnsZone: [
    { path: "spec", want: "map", required: true },
    { path: "spec.nameservers", want: "strings" },
    { path: "spec.namespaces", want: "strings" },
    { path: "spec.listen", want: "map" },
    { path: "spec.records", want: "list" },
    { path: "spec.forward", want: "strings" },
  ],
  CertificateIssuer: [
    { path: "spec", want: "map", required: true },
    { path: "spec.acme", want: "map", required: true },
    { path: "spec.acme.externalAccountBinding", want: "map" },
  ],
  Tenant: [
    { path: "spec", want: "map", required: true },
    { path: "spec.namespaces", want: "strings" },
    { path: "spec.namespaceSelector", want: "map" },
    { path: "spec.vipPools", want: "strings" },
    { path: "spec.dnsZones", want: "strings" },
    { path: "spec.engineGroups", want: "strings" },
    { path: "spec.domains", want: "strings" },
    { path: "spec.allowReferencesFrom", want: "strings" },
    { path: "spec.allowReferencesTo", want: "strings" },
    { path: "spec.quotas", want: "map" },
  ],
  WafPolicy: [
    { path: "spec", want: "map", required: true },
    { path: "spec.targetRefs", want: "list" },
    { path: "spec.exclusions", want: "list" },
    { path: "spec.exclusions[].tags", want: "strings" },
    { path: "spec.exclusions[].variables", want: "strings" },
    { path: "spec.allowlist", want: "map" },
    { path: "spec.allowlist.clientCIDRs", want: "strings" },
    { path: "spec.allowlist.paths", want: "list" },
    { path: "spec.crsSettings", want: "stringMap" },
    { path: "spec.customRules", want: "list" },
  ],
  AccessPolicy: [
    { path: "spec", want: "map", required: true },
    { path: "spec.targetRefs", want: "list" },
    { path: "spec.clientAddresses", want: "map" },
    { path: "spec.clientAddresses.allow", want: "strings" },
    { path: "spec.clientAddresses.deny", want: "strings" },
  ],
  GatewayClass: [],
  Gateway: [
    { path: "spec.listeners", want: "list" },
    { path: "spec.addresses", want: "list" },
  ],
  ListenerSet: [
    { path: "spec.parentRef", want: "map" },
    { path: "spec.listeners", want: "list" },
  ],
  HTTPRoute: routeRules,
  GRPCRoute: routeRules,
  TLSRoute: routeRules,
  TCPRoute: routeRules,
  UDPRoute: routeRules,
  ReferenceGrant: [
    { path: "spec.from", want: "list" },
    { path: "spec.to", want: "list" },
  ],
  BackendTLSPolicy: [
    { path: "spec.targetRefs", want: "list" },
    { path: "spec.validation", want: "map" },
  ],
};

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const describe = (v: unknown): string =>
  Array.isArray(v)
    ? "a list"
    : v === null
      ? "null"
      : isMap(v)
        ? "a mapping"
        : `the ${typeof v} ${JSON.stringify(v)}`;

/** fmtPath writes a path the way people do: spec.rules[0].http. */
const fmtPath = (at: (string | number)[]): string =>
  at.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/** checkValue returns a message when v does not have the wanted shape. */
function checkValue(v: unknown, want: Want, name: string): string | undefined {
  switch (want) {
    case "map":
      return isMap(v) ? undefined : `${name} must be a mapping (key: value), got ${describe(v)}`;
    case "list":
      if (!Array.isArray(v)) return `${name} must be a list (lines starting with "- "), got ${describe(v)}`;
      return v.every(isMap) ? undefined : `every item of ${name} must be a mapping (key: value)`;
    case "strings":
      if (!Array.isArray(v)) return `${name} must be a list of strings, got ${describe(v)}`;
      return v.every((x) => typeof x === "string")
        ? undefined
        : `${name} must hold only strings; quote the values`;
    case "stringMap":
      if (!isMap(v)) return `${name} must be a mapping of strings, got ${describe(v)}`;
      for (const [k, x] of Object.entries(v)) {
        if (typeof x !== "string") return `${name}.${k} must be a string, got ${describe(x)}; quote it`;
      }
      return undefined;
  }
}

/** visit applies one rule below value, expanding "[]" over list elements. */
function visit(
  value: unknown,
  parts: string[],
  at: (string | number)[],
  rule: Rule,
  out: ShapeProblem[],
): void {
  const [head, ...rest] = parts;
  if (head === undefined) {
    const message = checkValue(value, rule.want, fmtPath(at));
    if (message) out.push({ path: at, message });
    return;
  }
  const list = head.endsWith("[]");
  const key = list ? head.slice(0, -2) : head;
  if (!isMap(value)) return; // a parent of the wrong shape is reported by its own rule
  const child = value[key];
  if (child === undefined || (child === null && !rule.required)) {
    if (rule.required && rest.length === 0) {
      out.push({ path: [...at, key], message: `${fmtPath([...at, key])} is required` });
    }
    return;
  }
  if (!list) return visit(child, rest, [...at, key], rule, out);
  if (!Array.isArray(child)) return;
  child.forEach((item, i) => visit(item, rest, [...at, key, i], rule, out));
}

/** checkShape returns the structural problems of an object of a known kind; empty when fine. */
export function checkShape(kind: string, obj: Record<string, unknown>): ShapeProblem[] {
  const out: ShapeProblem[] = [];
  for (const rule of [...common, ...(RULES[kind] ?? [])]) visit(obj, rule.path.split("."), [], rule, out);
  return out;
}
