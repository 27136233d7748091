// gateway-class.ts: GatewayClasses whose controllerName is Portico's. Only those get status; a
// class of another controller and its Gateways are left untouched, since that controller owns them.
// Portico takes no class parameters, so a class with parametersRef is not accepted.
import type { GatewayClass } from "../k8s/gateway-api.ts";
import type { TranslateContext } from "./context.ts";
import { CONTROLLER_NAME, conditions, generationOf, no, yes } from "./gateway-conditions.ts";
import { refOf } from "./status.ts";

/**
 * SUPPORTED_FEATURES are the Gateway API features (their conformance names) Portico serves end to
 * end; GatewayClass status claims exactly these, so a conformance run selects their tests.
 */
export const SUPPORTED_FEATURES: readonly string[] = [
  "BackendTLSPolicy",
  "BackendTLSPolicySANValidation",
  "GRPCRoute",
  "GRPCRouteNamedRouteRule",
  "Gateway",
  "GatewayAddressEmpty",
  "GatewayFrontendClientCertificateValidation",
  "GatewayFrontendClientCertificateValidationInsecureFallback",
  "GatewayHTTPListenerIsolation",
  "GatewayHTTPSListenerDetectMisdirectedRequests",
  "GatewayPort8080",
  "GatewayStaticAddresses",
  "HTTPRoute",
  "HTTPRoute303RedirectStatusCode",
  "HTTPRoute307RedirectStatusCode",
  "HTTPRoute308RedirectStatusCode",
  "HTTPRouteBackendProtocolH2C",
  "HTTPRouteBackendProtocolWebSocket",
  "HTTPRouteBackendTimeout",
  "HTTPRouteCORS",
  "HTTPRouteDestinationPortMatching",
  "HTTPRouteHostRewrite",
  "HTTPRouteMethodMatching",
  "HTTPRouteNamedRouteRule",
  "HTTPRouteParentRefPort",
  "HTTPRoutePathRedirect",
  "HTTPRoutePathRewrite",
  "HTTPRoutePortRedirect",
  "HTTPRouteQueryParamMatching",
  "HTTPRouteRequestMirror",
  "HTTPRouteRequestMultipleMirrors",
  "HTTPRouteRequestPercentageMirror",
  "HTTPRouteRequestTimeout",
  "HTTPRouteResponseHeaderModification",
  "HTTPRouteSchemeRedirect",
  "ListenerSet",
  "ReferenceGrant",
  "TCPRoute",
  "TLSRoute",
  "TLSRouteModeMixed",
  "TLSRouteModeTerminate",
  "UDPRoute",
];

/**
 * AWAITING_ENGINE are features the translator already turns into IR whose data-plane part is not
 * in the engine yet. Move a name to SUPPORTED_FEATURES when its engine part lands
 * (docs/gateway-api.md lists both). Empty since TLS routing by SNI, request mirrors and HTTP/1.1
 * clients of h2c backends landed in the engine.
 */
export const AWAITING_ENGINE: readonly string[] = [];

/** ourClasses returns Portico's GatewayClasses by name, with their status recorded. */
export function ourClasses(ctx: TranslateContext): Map<string, { cls: GatewayClass; accepted: boolean }> {
  const out = new Map<string, { cls: GatewayClass; accepted: boolean }>();
  for (const o of ctx.set.other) {
    if (o.kind !== "GatewayClass") continue;
    const cls = o as unknown as GatewayClass;
    if (cls.spec?.controllerName !== CONTROLLER_NAME) continue;
    const params = cls.spec.parametersRef;
    const accepted = params
      ? no(
          "InvalidParameters",
          `parametersRef ${params.kind} ${params.name}: Portico takes no class parameters`,
        )
      : yes("Accepted");
    ctx.status.field(
      refOf(cls),
      "conditions",
      conditions(
        {
          Accepted: accepted,
          SupportedVersion: yes("SupportedVersion", "Gateway API v1.6 standard channel"),
        },
        generationOf(cls),
      ),
    );
    ctx.status.field(
      refOf(cls),
      "supportedFeatures",
      SUPPORTED_FEATURES.map((name) => ({ name })),
    );
    out.set(cls.metadata.name, { cls, accepted: accepted.status === "True" });
  }
  return out;
}
