// gateway-backend-tls.ts: Gateway spec.tls.backend.clientCertificateRef — the client certificate the
// Gateway presents when it connects to backends over TLS (BackendTLSPolicy re-encryption;
// GatewayBackendClientCertificate). The reference must name a core Secret (the Core form; an
// Opaque Secret with the same two keys is accepted too) holding tls.crt and tls.key, in the
// Gateway's namespace or one whose ReferenceGrant allows it. Anything else sets the Gateway's
// ResolvedRefs=False (RefNotPermitted, else InvalidClientCertificateRef) with what is wrong; the
// Gateway stays Accepted and connects to its TLS backends without a client certificate meanwhile.
// Pools are shared across Gateways, so each Gateway's routes get their own copies of the TLS
// pools they use, keyed by the certificate (withClientCertificate).
import type { Gateway } from "../k8s/gateway-api.ts";
import type { Pool, Route, RouteAction } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import { no, yes, type Cond } from "./gateway-conditions.ts";
import { nsOf } from "./gateway-types.ts";
import { gatewayFrom, refPermitted, type GrantIndex } from "./referencegrant.ts";
import { checkKeyPair, secretMap } from "./secrets.ts";

/** BackendClientCert is a Gateway's backend client certificate: its name in ctx.certificates, and the ResolvedRefs it earns. */
export interface BackendClientCert {
  certificate?: string;
  resolvedRefs: Cond;
}

/** backendClientCert checks spec.tls.backend.clientCertificateRef; undefined when the Gateway sets none. */
export function backendClientCert(
  ctx: TranslateContext,
  grants: GrantIndex,
  gw: Gateway,
): BackendClientCert | undefined {
  const ref = gw.spec.tls?.backend?.clientCertificateRef;
  if (ref === undefined) return undefined;
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Secret";
  const gwNs = nsOf(gw);
  const ns = ref.namespace ?? gwNs;
  const shown = `${group ? `${group}/` : ""}${kind} ${ns}/${ref.name}`;
  const invalid = (why: string): BackendClientCert => ({
    resolvedRefs: no("InvalidClientCertificateRef", `spec.tls.backend.clientCertificateRef ${shown}: ${why}`),
  });
  if (group !== "" || kind !== "Secret") return invalid("only core Secrets hold client certificates");
  if (!refPermitted(grants, gatewayFrom("Gateway", gwNs), { group, kind, namespace: ns, name: ref.name }))
    return {
      resolvedRefs: no(
        "RefNotPermitted",
        `spec.tls.backend.clientCertificateRef ${shown}: no ReferenceGrant in ${ns} allows Gateways of ${gwNs} to use it`,
      ),
    };
  const secret = secretMap(ctx.set.secrets).get(`${ns}/${ref.name}`);
  if (secret === undefined) return invalid("not found");
  const checked = checkKeyPair(secret);
  if (!checked.ok)
    return {
      resolvedRefs: no(
        "InvalidClientCertificateRef",
        `spec.tls.backend.clientCertificateRef: ${checked.message} (want tls.crt and tls.key holding a matching key pair)`,
      ),
    };
  ctx.certificates[checked.name] = checked.cert;
  return { certificate: checked.name, resolvedRefs: yes("ResolvedRefs") };
}

/**
 * withClientCertificate returns route with every TLS pool it forwards or mirrors to replaced by a
 * copy that presents certificate (added to ctx.pools once); route itself when it uses none.
 */
export function withClientCertificate(ctx: TranslateContext, route: Route, certificate: string): Route {
  const swap = (name: string): string => {
    const pool = ctx.pools[name];
    if (pool?.tls === undefined) return name;
    const key = `${name}#client=${certificate}`;
    if (!ctx.pools[key]) {
      const copy: Pool = { ...pool, name: key, tls: { ...pool.tls, clientCertificate: certificate } };
      ctx.pools[key] = copy;
    }
    return key;
  };
  let changed = false;
  const action: RouteAction =
    route.action.type === "Forward"
      ? {
          ...route.action,
          backends: route.action.backends.map((b) => {
            const pool = swap(b.pool);
            changed ||= pool !== b.pool;
            return pool === b.pool ? b : { ...b, pool };
          }),
        }
      : route.action;
  const filters = route.filters?.map((f) => {
    if (f.type !== "RequestMirror") return f;
    const pool = swap(f.pool);
    changed ||= pool !== f.pool;
    return pool === f.pool ? f : { ...f, pool };
  });
  if (!changed) return route;
  return { ...route, action, ...(filters ? { filters } : {}) };
}
