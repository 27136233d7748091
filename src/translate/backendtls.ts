// backendtls.ts: BackendTLSPolicy, re-encryption towards a Service. A policy targets a Service (and
// optionally one port by sectionName); the oldest policy per target wins and the others are
// Conflicted. The CA comes from a ConfigMap's ca.crt (Core), a Secret's ca.crt (Portico's
// implementation-specific extension) or the system roots (wellKnownCACertificates: System).
// Status goes to `ancestors`, one entry per Gateway whose routes use the policy.
import { X509Certificate } from "node:crypto";
import type { BackendTLSPolicy } from "../k8s/gateway-api.ts";
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { Service } from "../k8s/types.ts";
import type { UpstreamTls } from "../model/ir.ts";
import type { ServicePort } from "./endpoints.ts";
import {
  CONTROLLER_NAME,
  GATEWAY_GROUP,
  Problems,
  conditions,
  generationOf,
  no,
  yes,
  type Cond,
} from "./gateway-conditions.ts";
import { byAge, nsOf } from "./gateway-types.ts";

/** PolicyUse is a policy and what it resolved to. */
export interface PolicyUse {
  policy: BackendTLSPolicy;
  /** tls is the upstream TLS the policy asks for; undefined when no CA is usable (connections must fail). */
  tls?: UpstreamTls;
  accepted: Cond;
  resolvedRefs: Cond;
  /** ancestors are the Gateways ("ns/name") whose routes sent traffic through the policy. */
  ancestors: Set<string>;
}

/** BackendTlsIndex finds the winning policy of a Service port, and remembers every policy for status. */
export class BackendTlsIndex {
  readonly #all: PolicyUse[] = [];
  /** byTarget lists the policies of "ns/service#section" in precedence order; the first one wins. */
  readonly #byTarget = new Map<string, PolicyUse[]>();

  constructor(set: ResourceSet) {
    const policies = set.other
      .filter((o) => o.kind === "BackendTLSPolicy")
      .map((o) => o as unknown as BackendTLSPolicy)
      .sort(byAge);
    for (const policy of policies) {
      const use = resolvePolicy(set, policy);
      this.#all.push(use);
      for (const t of policy.spec?.targetRefs ?? []) {
        if (t.group !== "" || t.kind !== "Service") {
          use.accepted = no(
            "InvalidKind",
            `targetRef ${t.group}/${t.kind} ${t.name}: only core Services are supported`,
          );
          continue;
        }
        const key = `${nsOf(policy)}/${t.name}#${t.sectionName ?? ""}`;
        const list = this.#byTarget.get(key) ?? [];
        const held = list[0];
        if (held) {
          use.accepted = no(
            "Conflicted",
            `Service ${t.name}${t.sectionName ? ` port ${t.sectionName}` : ""} already has BackendTLSPolicy ${held.policy.metadata.name}`,
          );
        }
        list.push(use);
        this.#byTarget.set(key, list);
      }
    }
  }

  /**
   * forPort returns the policies naming a Service port (by section name first, then the whole
   * Service), winner first. The winner governs the pool when it is Accepted or has no usable CA
   * (then connections must fail); every one of them reports status to the Gateways using the port.
   */
  forPort(svc: Service, port: ServicePort): { winner?: PolicyUse; all: PolicyUse[] } {
    const base = `${nsOf(svc)}/${svc.metadata.name}#`;
    const all = (port.name && this.#byTarget.get(base + port.name)) || this.#byTarget.get(base) || [];
    const first = all[0];
    const governs =
      first && (first.accepted.status === "True" || first.accepted.reason === "NoValidCACertificate");
    return governs ? { winner: first, all } : { all };
  }

  /** statuses renders the status of every policy used by at least one of Portico's Gateways. */
  statuses(): { policy: BackendTLSPolicy; status: Record<string, unknown> }[] {
    return this.#all
      .filter((u) => u.ancestors.size > 0)
      .map((u) => ({
        policy: u.policy,
        status: {
          ancestors: [...u.ancestors].sort().map((gw) => {
            const [namespace, name] = gw.split("/") as [string, string];
            return {
              ancestorRef: { group: GATEWAY_GROUP, kind: "Gateway", namespace, name },
              controllerName: CONTROLLER_NAME,
              conditions: conditions(
                { Accepted: u.accepted, ResolvedRefs: u.resolvedRefs },
                generationOf(u.policy),
              ),
            };
          }),
        },
      }));
  }
}

/** resolvePolicy reads the validation block into UpstreamTls. */
function resolvePolicy(set: ResourceSet, policy: BackendTLSPolicy): PolicyUse {
  const v = policy.spec?.validation;
  const refs = new Problems();
  const cas: string[] = [];
  for (const ref of v?.caCertificateRefs ?? []) {
    const pem = caPem(set, nsOf(policy), ref.group ?? "", ref.kind, ref.name);
    if (typeof pem === "string") cas.push(pem);
    else refs.add(pem.reason, pem.message);
  }
  const system = v?.wellKnownCACertificates === "System";
  if (v?.wellKnownCACertificates !== undefined && !system) {
    refs.add(
      "Invalid",
      `wellKnownCACertificates ${JSON.stringify(v.wellKnownCACertificates)} is not supported`,
    );
  }
  const use: PolicyUse = {
    policy,
    accepted: yes("Accepted"),
    resolvedRefs: refs.cond("ResolvedRefs"),
    ancestors: new Set(),
  };
  if (cas.length === 0 && !system) {
    use.accepted = no("NoValidCACertificate", "no usable CA certificate; connections to the backend fail");
    return use;
  }
  const tls: UpstreamTls = { sni: (v?.hostname ?? "").toLowerCase() };
  if (cas.length > 0) tls.caPem = cas.join("");
  const sans = (v?.subjectAltNames ?? []).map((s) =>
    s.type === "URI" ? `URI:${s.uri ?? ""}` : (s.hostname ?? ""),
  );
  if (sans.length > 0) tls.subjectAltNames = sans;
  use.tls = tls;
  return use;
}

/** caPem reads ca.crt from a ConfigMap (plain text) or a Secret (base64), checking it parses. */
export function caPem(
  set: ResourceSet,
  ns: string,
  group: string,
  kind: string,
  name: string,
): string | { reason: string; message: string } {
  const shown = `${kind} ${ns}/${name}`;
  let text: string | undefined;
  if (group === "" && kind === "ConfigMap") {
    const cm = set.other.find((o) => o.kind === "ConfigMap" && nsOf(o) === ns && o.metadata.name === name);
    if (!cm) return { reason: "InvalidCACertificateRef", message: `${shown} not found` };
    text = (cm.data as Record<string, string> | undefined)?.["ca.crt"];
  } else if (group === "" && kind === "Secret") {
    const s = set.secrets.find((x) => nsOf(x) === ns && x.metadata.name === name);
    if (!s) return { reason: "InvalidCACertificateRef", message: `${shown} not found` };
    const b64 = s.data?.["ca.crt"];
    text = b64 ? Buffer.from(b64, "base64").toString("utf8") : undefined;
  } else {
    return { reason: "InvalidKind", message: `${group || "core"}/${kind} cannot hold a CA certificate` };
  }
  if (!text) return { reason: "InvalidCACertificateRef", message: `${shown} has no ca.crt` };
  try {
    new X509Certificate(text);
  } catch {
    return { reason: "InvalidCACertificateRef", message: `${shown}: ca.crt is not a PEM certificate` };
  }
  return text;
}
