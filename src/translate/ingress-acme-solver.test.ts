// ingress-acme-solver.test.ts: cert-manager's HTTP-01 solver Ingress (a temporary Ingress with the
// exact path /.well-known/acme-challenge/TOKEN, labelled acme.cert-manager.io/http01-solver) is
// routed wherever the validation request arrives: on the class's shared VIP, and on the dedicated
// VIP of an Ingress that serves the same host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { PendingHttp } from "./types.ts";
import { translate } from "./translate.ts";

const opts = { serveClasslessServices: false, ingressHttpPort: 80, ingressHttpsPort: 443 };
const TOKEN = "Xq3-token_9";

function ingress(name: string, host: string, path: string, pathType: string, extra: object = {}): AnyObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    ...extra,
    metadata: {
      name,
      namespace: "d",
      creationTimestamp: `2026-01-0${name.length % 9}T00:00:00Z`,
      ...(extra as { metadata?: object }).metadata,
    },
    spec: {
      ingressClassName: "portico",
      rules: [
        {
          host,
          http: {
            paths: [
              { path, pathType, backend: { service: { name: `${name}-svc`, port: { number: 8089 } } } },
            ],
          },
        },
      ],
    },
  };
}

/** solver is the Ingress cert-manager's ingress solver creates (pkg/issuer/acme/http/ingress.go). */
const solver = (host: string, pathType = "ImplementationSpecific") =>
  ingress("cm-acme-http-solver-abcde", host, `/.well-known/acme-challenge/${TOKEN}`, pathType, {
    metadata: {
      generateName: "cm-acme-http-solver-",
      labels: {
        "acme.cert-manager.io/http01-solver": "true",
        "acme.cert-manager.io/http-domain": "1234",
        "acme.cert-manager.io/http-token": "5678",
      },
    },
  });

const objects = (...extra: AnyObject[]): AnyObject[] => [
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "portico" },
    spec: { controller: "portico.dev/ingress-controller" },
  },
  ...extra,
];

/** routeFor is the first route of host on listener l that a request for path takes. */
function routeFor(l: PendingHttp | undefined, host: string, path: string) {
  const vh = l?.virtualHosts.find((v) => v.hostname === host);
  return vh?.routes.find((r) =>
    r.match.path.type === "Exact" ? r.match.path.value === path : path.startsWith(r.match.path.value),
  );
}

for (const pathType of ["ImplementationSpecific", "Exact"]) {
  test(`ingress solver (${pathType}): the challenge path goes to the solver, the rest of the host to the site`, () => {
    const set = buildResourceSet(
      objects(ingress("site", "a.example", "/", "Prefix"), solver("a.example", pathType)),
      new Map(),
      [],
    );
    const out = translate(set, opts);
    const http = out.http.find((l) => l.vip === "IngressClass/portico" && l.port === 80);
    const challenge = routeFor(http, "a.example", `/.well-known/acme-challenge/${TOKEN}`);
    assert.match(challenge?.name ?? "", /^Ingress\/d\/cm-acme-http-solver-abcde#/);
    assert.match(routeFor(http, "a.example", "/page")?.name ?? "", /^Ingress\/d\/site#/);
  });
}

test("ingress solver: also served on the dedicated VIP of an Ingress with the same host", () => {
  const dedicated = ingress("site", "b.example", "/", "Prefix", {
    metadata: { annotations: { "portico.dev/dedicated-vip": "true" } },
  });
  const out = translate(
    buildResourceSet(
      objects(dedicated, solver("b.example"), ingress("other", "c.example", "/", "Prefix")),
      new Map(),
      [],
    ),
    opts,
  );
  const own = out.http.find((l) => l.vip === "Ingress/d/site" && l.port === 80);
  const challenge = routeFor(own, "b.example", `/.well-known/acme-challenge/${TOKEN}`);
  assert.match(challenge?.name ?? "", /^Ingress\/d\/cm-acme-http-solver-abcde#/);
  assert.match(routeFor(own, "b.example", "/")?.name ?? "", /^Ingress\/d\/site#/);
  assert.equal(
    own?.virtualHosts.some((v) => v.hostname === "c.example"),
    false,
    "other hosts stay on the shared VIP",
  );
  // The solver's status names the VIP the validation request is sent to.
  assert.equal(out.vipOf["Ingress/d/cm-acme-http-solver-abcde"], "Ingress/d/site");
});
