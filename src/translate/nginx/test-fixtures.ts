// test-fixtures.ts: Ingress objects and a translate run for the unit tests of the path, redirect
// and upstream annotation families (rewrite.test.ts, redirect.test.ts, upstream.test.ts).
import { buildResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { Route } from "../../model/ir.ts";
import { ACCEPTED } from "../status.ts";
import { translate } from "../translate.ts";
import type { PendingHttp } from "../types.ts";

/** OPTS are the translate options of the tests (ports 80 and 443). */
export const OPTS = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };

/** Path is one path of a test Ingress rule. */
export interface Path {
  path: string;
  pathType?: string;
  service?: string;
}

/** ingress builds an Ingress of class portico in namespace d; age orders conflicts (smaller: older). */
export function ingress(
  name: string,
  host: string,
  paths: Path[],
  annotations: Record<string, string> = {},
  age = 1,
  extraSpec: object = {},
): AnyObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "d", annotations, creationTimestamp: `2026-01-0${age}T00:00:00Z` },
    spec: {
      ingressClassName: "portico",
      ...extraSpec,
      rules: [
        {
          host,
          http: {
            paths: paths.map((p) => ({
              path: p.path,
              pathType: p.pathType ?? "ImplementationSpecific",
              backend: { service: { name: p.service ?? "web", port: { number: 80 } } },
            })),
          },
        },
      ],
    },
  };
}

/** service is a Service d/name with port 80 and one ready endpoint. */
export function service(name: string): AnyObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "d" },
      spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${name}-1`, namespace: "d", labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: true } }],
    },
  ];
}

/** run translates the Ingresses with Portico's class and the Services web and api. */
export function run(...ingresses: AnyObject[]) {
  const cls: AnyObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "portico" },
    spec: { controller: "portico.dev/ingress-controller" },
  };
  const out = translate(
    buildResourceSet([cls, ...service("web"), ...service("api"), ...ingresses], new Map(), []),
    OPTS,
  );
  const http = out.http.find((l) => l.port === 80) as PendingHttp;
  return { out, http, routes: (host: string) => routesOf(http, host) };
}

/** routesOf is host's routes on listener l, in the order the engine tries them. */
export function routesOf(l: PendingHttp | undefined, host: string): Route[] {
  return l?.virtualHosts.find((v) => v.hostname === host)?.routes ?? [];
}

/** acceptedOf is the Accepted condition of Ingress d/name. */
export function acceptedOf(out: ReturnType<typeof run>["out"], name: string) {
  const s = out.statuses.find((x) => x.kind === "Ingress" && x.name === name);
  return s?.status.conditions?.find((c) => c.type === ACCEPTED);
}
