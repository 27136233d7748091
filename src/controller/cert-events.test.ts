// cert-events.test.ts: certificate problems as Kubernetes Events and metrics (issue 18 item 3):
// a valid certificate is no Event, an expiring one a Warning whose note changes once a day (so the
// recorder's same-note dedup sends one per certificate per day), an expired one a Warning.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ingressEvents } from "./kube-events.ts";
import { ControllerMetrics } from "./metrics.ts";
import type { ObjectStatus } from "../translate/types.ts";
import type { CertificateUse } from "../translate/certificates.ts";

const ingress = (reason: string, status: "True" | "False", message: string): ObjectStatus => ({
  kind: "Ingress",
  namespace: "d",
  name: "web",
  status: { conditions: [{ type: "portico.dev/CertificatesValid", status, reason, message }] },
});

test("cert events: Valid is quiet; Expiring and Expired are Warnings naming the problem", () => {
  assert.deepEqual(ingressEvents(ingress("Valid", "True", ""), undefined), []);
  const soon = ingressEvents(
    ingress("CertificateExpiring", "True", "Secret d/t: certificate expires at X (9 days left); renew it"),
    undefined,
  );
  assert.equal(soon.length, 1);
  assert.equal(soon[0]!.type, "Warning");
  assert.match(soon[0]!.note, /9 days left\); renew it/);
  const nextDay = ingressEvents(
    ingress("CertificateExpiring", "True", "Secret d/t: certificate expires at X (8 days left); renew it"),
    undefined,
  );
  assert.equal(nextDay[0]!.series, soon[0]!.series);
  assert.notEqual(nextDay[0]!.note, soon[0]!.note, "a new day is a new note, so one more Event");
  const gone = ingressEvents(ingress("CertificateExpired", "False", "expired; renew it"), undefined);
  assert.equal(gone[0]!.reason, "SyncFailed");
});

test("cert metrics: expiry timestamp and usable per Secret, one series each", () => {
  const m = new ControllerMetrics();
  const use = (secret: string, host: string, state: CertificateUse["state"]): CertificateUse => ({
    secret,
    object: "Ingress/d/web",
    hosts: [host],
    state,
    notAfter: "2027-01-01T00:00:00.000Z",
  });
  m.certificatesChecked([use("d/a", "a.test", "OK"), use("d/a", "b.test", "Invalid"), use("d/b", "c", "OK")]);
  const text = m.render([]);
  const a = 'namespace="d",secret="a"';
  assert.match(text, new RegExp(`portico_certificate_expiry_timestamp_seconds\\{${a}\\} 1798761600`));
  assert.match(text, new RegExp(`portico_certificate_usable\\{${a}\\} 0`));
  assert.match(text, /portico_certificate_usable\{namespace="d",secret="b"\} 1/);
  assert.equal(text.match(/^portico_certificate_usable\{/gm)?.length, 2);
});
