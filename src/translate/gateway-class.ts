// gateway-class.ts: GatewayClasses whose controllerName is Portico's. Only those get status; a
// class of another controller and its Gateways are left untouched, since that controller owns them.
// Portico takes no class parameters, so a class with parametersRef is not accepted.
import type { GatewayClass } from "../k8s/gateway-api.ts";
import type { TranslateContext } from "./context.ts";
import { CONTROLLER_NAME, conditions, generationOf, no, yes } from "./gateway-conditions.ts";
import { refOf } from "./status.ts";

/** SUPPORTED_FEATURES are the Gateway API feature names Portico implements (docs/gateway-api.md). */
export const SUPPORTED_FEATURES: readonly string[] = [
  "BackendTLSPolicy",
  "GRPCRoute",
  "Gateway",
  "GatewayHTTPListenerIsolation",
  "GatewayPort8080",
  "GatewayStaticAddresses",
  "HTTPRoute",
  "HTTPRoute303RedirectStatusCode",
  "HTTPRoute307RedirectStatusCode",
  "HTTPRoute308RedirectStatusCode",
  "HTTPRouteBackendProtocolH2C",
  "HTTPRouteBackendTimeout",
  "HTTPRouteHostRewrite",
  "HTTPRouteMethodMatching",
  "HTTPRouteParentRefPort",
  "HTTPRoutePathRedirect",
  "HTTPRoutePathRewrite",
  "HTTPRoutePortRedirect",
  "HTTPRouteQueryParamMatching",
  "HTTPRouteRequestMirror",
  "HTTPRouteRequestPercentageMirror",
  "HTTPRouteRequestTimeout",
  "HTTPRouteResponseHeaderModification",
  "HTTPRouteSchemeRedirect",
  "ListenerSet",
  "ReferenceGrant",
  "TCPRoute",
  "TLSRoute",
  "TLSRouteModeTerminate",
  "UDPRoute",
];

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
