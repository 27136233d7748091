// tenant-helpers.ts: the manifests and probes the tenant end-to-end tests share (tenants.test.ts,
// tenants-quotas.test.ts): an Ingress per tenant namespace, the two Tenants a and b, a GET by
// hostname, and an Ingress's Accepted condition.
import { request, type Agent } from "node:http";
import type { StatusEntry } from "./harness.ts";

/** ingress serves host from ns/app; meta adds fields to its metadata (", creationTimestamp: ..."). */
export function ingress(ns: string, name: string, host: string, meta = ""): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: ${ns}${meta} }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`;
}

/** tenants are a (namespace a) and b (namespace b); extraA/extraB are added to their specs. */
export function tenants(extraA = "", extraB = ""): string {
  return `apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: a }
spec: { namespaces: [a]${extraA} }
---
apiVersion: portico.dev/v1alpha1
kind: Tenant
metadata: { name: b }
spec: { namespaces: [b]${extraB} }
`;
}

/**
 * get sends GET / to vip:port, for host when given (else Node's own Host header, vip:port); a
 * connection error is status 0 with the error as body.
 */
export function get(
  vip: string,
  port: number,
  host: string | undefined,
  agent: Agent,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: vip, port, path: "/", agent, headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
      res.on("error", (e) => resolve({ status: 0, body: String(e) }));
    });
    req.on("error", (e) => resolve({ status: 0, body: String(e) }));
    req.end();
  });
}

/** acceptedOf finds an Ingress's Accepted condition in /api/v1/status. */
export function acceptedOf(all: StatusEntry[], ns: string, name: string) {
  const s = all.find((x) => x.kind === "Ingress" && x.namespace === ns && x.name === name);
  return s?.status.conditions?.find((c) => c.type === "portico.dev/Accepted");
}
