import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyResourceSet, type ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import type { Ingress } from "../../k8s/types.ts";
import { collectRequests } from "./requests.ts";

const ing = (name: string, issuer: string | undefined, tls: { hosts?: string[]; secretName?: string }[]) =>
  ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      namespace: "shop",
      ...(issuer ? { annotations: { "portico.dev/certificate-issuer": issuer } } : {}),
    },
    spec: { tls },
  }) as Ingress;

test("Ingress annotation and Gateway tls.options become certificate requests", () => {
  const gw = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "edge", namespace: "infra" },
    spec: {
      gatewayClassName: "portico",
      listeners: [
        {
          name: "https",
          port: 443,
          protocol: "HTTPS",
          hostname: "API.example.test",
          tls: {
            certificateRefs: [{ name: "api-tls" }],
            options: { "portico.dev/certificate-issuer": "le" },
          },
        },
        {
          name: "nohost",
          port: 8443,
          protocol: "HTTPS",
          tls: { options: { "portico.dev/certificate-issuer": "le" } },
        },
      ],
    },
  } as unknown as AnyObject;
  const set: ResourceSet = {
    ...emptyResourceSet(),
    ingresses: [
      ing("a", "le", [
        { hosts: ["B.example.test", "a.example.test"], secretName: "a-tls" },
        { hosts: ["x.test"] },
      ]),
      ing("plain", undefined, [{ hosts: ["p.test"], secretName: "p-tls" }]),
      ing("clash", "other", [{ hosts: ["z.test"], secretName: "a-tls" }]),
    ],
    other: [gw],
  };
  const { requests, problems } = collectRequests(set);
  assert.deepEqual(requests, [
    {
      issuer: "le",
      secret: "shop/a-tls",
      hosts: ["a.example.test", "b.example.test"],
      owner: "Ingress/shop/a",
    },
    { issuer: "le", secret: "infra/api-tls", hosts: ["api.example.test"], owner: "Gateway/infra/edge" },
  ]);
  assert.deepEqual(
    problems.map((p) => p.owner),
    ["Ingress/shop/a", "Ingress/shop/clash", "Gateway/infra/edge"],
  );
  assert.match(problems[1]!.message, /already requested by Ingress\/shop\/a/);
});
