// gateway-class.ts: GatewayClasses whose controllerName is Portico's. Only those get status; a
// class of another controller and its Gateways are left untouched, since that controller owns them.
// The one class parameter Portico takes is an EngineGroup (parametersRef group portico.dev, kind
// EngineGroup) that exists: the Gateways of the class are served by that group. Any other
// parametersRef, or a group that does not exist, leaves the class not accepted.
import type { GatewayClass } from "../k8s/gateway-api.ts";
import type { TranslateContext } from "./context.ts";
import { CONTROLLER_NAME, conditions, generationOf, no, yes, type Cond } from "./gateway-conditions.ts";
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import { classGroup, PORTICO_GROUP } from "./engine-group.ts";
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
  "GatewayBackendClientCertificate",
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
  "HTTPRouteBackendRequestHeaderModification",
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
    const accepted = parametersVerdict(ctx, cls);
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

/** parametersVerdict is the class's Accepted value as its parametersRef allows. */
function parametersVerdict(ctx: TranslateContext, cls: GatewayClass): Cond {
  const params = cls.spec.parametersRef;
  if (!params) return yes("Accepted");
  const group = classGroup(params);
  if (group === undefined)
    return no(
      "InvalidParameters",
      `parametersRef ${params.group}/${params.kind} ${params.name}: the only class parameters Portico takes are an EngineGroup (group ${PORTICO_GROUP}, kind EngineGroup)`,
    );
  const exists =
    group === DEFAULT_ENGINE_GROUP || ctx.set.engineGroups.some((g) => g.metadata.name === group);
  return exists
    ? yes("Accepted", `Gateways of this class are served by EngineGroup ${group}`)
    : no(
        "InvalidParameters",
        `parametersRef EngineGroup ${group} does not exist (EngineGroupNotFound); create it or point parametersRef at an existing group`,
      );
}
