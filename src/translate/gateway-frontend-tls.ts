// gateway-frontend-tls.ts: Gateway spec.tls.frontend — client certificate validation (mutual TLS)
// for the Gateway's HTTPS listeners. A perPort entry for the listener's port replaces the
// default. The CA bundle comes from ConfigMaps' ca.crt (Core; a Secret's ca.crt is accepted as
// for BackendTLSPolicy); a bad reference marks the listener ResolvedRefs=False, and when no
// reference is usable Accepted=False/NoValidCACertificate, so the listener serves nothing rather
// than serve without the validation it asks for.
import type { GatewaySpecTlsFrontend } from "../k8s/gateway-api.ts";
import type { ClientValidation } from "../model/ir.ts";
import type { TranslateContext } from "./context.ts";
import { caPem } from "./backendtls.ts";
import { nsOf, type Listener } from "./gateway-types.ts";
import { gatewayFrom, refPermitted, type GrantIndex } from "./referencegrant.ts";

/** FrontendValidation is the part of spec.tls.frontend that applies to one port. */
export type FrontendValidation = NonNullable<GatewaySpecTlsFrontend["default"]["validation"]>;

/** frontendValidationFor returns the validation the Gateway asks for on port, if any. */
export function frontendValidationFor(
  frontend: GatewaySpecTlsFrontend | undefined,
  port: number,
): FrontendValidation | undefined {
  if (frontend === undefined) return undefined;
  const own = frontend.perPort?.find((p) => p.port === port);
  return own !== undefined ? own.tls.validation : frontend.default.validation;
}

/** insecureFallback names the ports (or "default") whose client validation is AllowInsecureFallback,
 * for the Gateway's InsecureFrontendValidationMode condition; empty when none is. */
export function insecureFallback(frontend: GatewaySpecTlsFrontend | undefined): string[] {
  if (frontend === undefined) return [];
  const out = frontend.default.validation?.mode === "AllowInsecureFallback" ? ["default"] : [];
  for (const p of frontend.perPort ?? [])
    if (p.tls.validation?.mode === "AllowInsecureFallback") out.push(`port ${p.port}`);
  return out;
}

/** checkFrontendValidation resolves the CA of an HTTPS listener's client validation into l.clientValidation. */
export function checkFrontendValidation(ctx: TranslateContext, grants: GrantIndex, l: Listener): void {
  if (l.protocol !== "HTTPS") return;
  const v = frontendValidationFor(l.gateway.spec.tls?.frontend, l.port);
  if (v === undefined) return;
  const gwNs = nsOf(l.gateway);
  const pems: string[] = [];
  for (const ref of v.caCertificateRefs) {
    const group = ref.group ?? "";
    const kind = ref.kind ?? "ConfigMap";
    const ns = ref.namespace ?? gwNs;
    const shown = `${kind} ${ns}/${ref.name}`;
    if (!refPermitted(grants, gatewayFrom("Gateway", gwNs), { group, kind, namespace: ns, name: ref.name })) {
      l.resolvedRefs.add("RefNotPermitted", `frontend CA ${shown}: no ReferenceGrant in ${ns} allows it`);
      continue;
    }
    const pem = caPem(ctx.set, ns, group, kind, ref.name);
    if (typeof pem === "string") {
      pems.push(pem.endsWith("\n") ? pem : `${pem}\n`);
      continue;
    }
    const reason = pem.reason === "InvalidKind" ? "InvalidCACertificateKind" : pem.reason;
    l.resolvedRefs.add(reason, `frontend CA: ${pem.message}`);
  }
  if (pems.length === 0) {
    l.accepted.add(
      "NoValidCACertificate",
      "spec.tls.frontend: no usable CA certificate for client validation",
    );
    return;
  }
  const out: ClientValidation = { caPem: pems.join(""), mode: v.mode ?? "AllowValidOnly" };
  l.clientValidation = out;
}
