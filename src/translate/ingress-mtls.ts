// ingress-mtls.ts: client certificate verification (mutual TLS) on Ingress, from ingress-nginx's
// auth-tls-* annotations, per host: the validation rides on the SNI entries of the Ingress's
// spec.tls hosts, so other hosts of the shared VIP are not asked for a certificate. A CA that
// cannot be read keeps those hosts off HTTPS rather than serve them unverified.
import type { Ingress } from "../k8s/types.ts";
import type { ClientValidation } from "../model/ir.ts";
import { caPem } from "./backendtls.ts";
import { annotation, type TranslateContext } from "./context.ts";
import { ACCEPTED, RESOLVED_REFS, refOf } from "./status.ts";

/** ANN_AUTH_TLS_SECRET names the Secret ("namespace/name" or "name") whose ca.crt verifies clients. */
export const ANN_AUTH_TLS_SECRET = "nginx.ingress.kubernetes.io/auth-tls-secret";
/** ANN_AUTH_TLS_VERIFY is on (default) | optional | optional_no_ca | off. */
export const ANN_AUTH_TLS_VERIFY = "nginx.ingress.kubernetes.io/auth-tls-verify-client";
/** ANN_AUTH_TLS_DEPTH is the chain depth; only ingress-nginx's default, 1, is honoured. */
export const ANN_AUTH_TLS_DEPTH = "nginx.ingress.kubernetes.io/auth-tls-verify-depth";
/** ANN_AUTH_TLS_PASS asks for the client certificate in a header to the backend (not implemented). */
export const ANN_AUTH_TLS_PASS = "nginx.ingress.kubernetes.io/auth-tls-pass-certificate-to-upstream";

const MODES: Record<string, ClientValidation["mode"] | "off"> = {
  on: "AllowValidOnly",
  optional: "AllowValidOrNone",
  optional_no_ca: "AllowInsecureFallback",
  off: "off",
};

/**
 * ingressClientValidation reads an Ingress's auth-tls annotations: undefined when it asks for
 * none, "invalid" when it asks for one that cannot be honoured (a condition says why).
 */
export function ingressClientValidation(
  ctx: TranslateContext,
  ing: Ingress,
): ClientValidation | "invalid" | undefined {
  const ref = refOf(ing);
  const secret = annotation(ing, ANN_AUTH_TLS_SECRET);
  const verify = (annotation(ing, ANN_AUTH_TLS_VERIFY) ?? "on").trim().toLowerCase();
  if (secret === undefined) {
    if (annotation(ing, ANN_AUTH_TLS_VERIFY) !== undefined && verify !== "off")
      ctx.status.warn(
        ref,
        ACCEPTED,
        "InvalidAuthTLS",
        `${ANN_AUTH_TLS_VERIFY} without ${ANN_AUTH_TLS_SECRET}: no client verification`,
      );
    return undefined;
  }
  const mode = MODES[verify];
  if (mode === undefined) {
    ctx.status.fail(
      ref,
      ACCEPTED,
      "InvalidAuthTLS",
      `${ANN_AUTH_TLS_VERIFY}: ${JSON.stringify(verify)} is not on, optional, optional_no_ca or off; its TLS hosts are not served on HTTPS`,
    );
    return "invalid";
  }
  if (mode === "off") return undefined;
  const own = ing.metadata.namespace ?? "";
  const [ns, name] = secret.includes("/") ? secret.split("/", 2) : [own, secret];
  if (ns !== own) {
    // Without a grant an Ingress must not borrow another namespace's trust anchors.
    ctx.status.fail(
      ref,
      RESOLVED_REFS,
      "RefNotPermitted",
      `${ANN_AUTH_TLS_SECRET}: Secret ${secret} is in another namespace than the Ingress; its TLS hosts are not served on HTTPS`,
    );
    return "invalid";
  }
  const pem = caPem(ctx.set, ns, "", "Secret", name!);
  if (typeof pem !== "string") {
    ctx.status.fail(
      ref,
      RESOLVED_REFS,
      pem.reason,
      `${ANN_AUTH_TLS_SECRET}: ${pem.message}; its TLS hosts are not served on HTTPS`,
    );
    return "invalid";
  }
  const depth = annotation(ing, ANN_AUTH_TLS_DEPTH);
  if (depth !== undefined && depth.trim() !== "1")
    ctx.status.warn(
      ref,
      ACCEPTED,
      "NotImplemented",
      `${ANN_AUTH_TLS_DEPTH}: ${JSON.stringify(depth)} not implemented; chains are verified to any depth the CA bundle allows`,
    );
  if ((annotation(ing, ANN_AUTH_TLS_PASS) ?? "false").trim() === "true")
    ctx.status.warn(
      ref,
      ACCEPTED,
      "NotImplemented",
      `${ANN_AUTH_TLS_PASS}: not implemented; the backend gets no ssl-client-cert header`,
    );
  return { caPem: pem.endsWith("\n") ? pem : `${pem}\n`, mode };
}
