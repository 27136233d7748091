// decide.ts: the admission webhook's verdict on one object, by the translator's own tenant rules
// (tenant-admit.ts): the controller's current view with the incoming object put in (a new object
// is the newest claim), run through admitTenants, and what it refuses of that object is the
// answer. So `kubectl apply` hears the message the controller would write on the object's
// condition, and the webhook can never disagree with the controller about what the rules say.
// Pure: the view, the options and the clock come in as arguments.
import { allObjects, buildResourceSet, objectKey, type ResourceSet } from "../../k8s/resource-set.ts";
import type { AnyObject } from "../../k8s/types.ts";
import { admitTenants, fingerprint } from "../../translate/tenant-admit.ts";
import { collectClaims } from "../../translate/tenant-claims.ts";
import { refusalMessage } from "../../translate/tenant-status.ts";
import type { TranslateOptions } from "../../translate/types.ts";

/** Operation is what the API server is about to do (admission.k8s.io/v1). */
export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** Verdict is the answer to one request: refused with a message, or allowed with warnings. */
export interface Verdict {
  allowed: boolean;
  /** message says why it is refused: the condition messages of the refusals, joined by "; ". */
  message?: string;
  /** reasons are the condition reasons of the refusals (QuotaExceeded, HostnameOwned, ...). */
  reasons?: string[];
  /** warnings are what the controller would only warn about (an Ingress's refused rules). */
  warnings: string[];
}

const ALLOWED: Verdict = { allowed: true, warnings: [] };

/**
 * decide judges obj (oldObj on UPDATE) against the view set. DELETE, and any write to an object
 * being deleted (a finalizer removed), is allowed: taking something away never overruns a rule.
 * An UPDATE that leaves what the object asks of its tenant unchanged (labels, annotations Portico
 * does not read, a finalizer) is allowed even when the controller refuses the object, with the
 * refusal as a warning: the edit makes nothing worse, and refusing it would block unrelated tools.
 */
export function decide(
  set: ResourceSet,
  opts: TranslateOptions,
  op: Operation,
  obj: AnyObject | undefined,
  oldObj: AnyObject | undefined,
  now: Date,
): Verdict {
  if ((op !== "CREATE" && op !== "UPDATE") || !obj) return ALLOWED;
  if (obj.metadata.deletionTimestamp) return ALLOWED;
  // Without a Tenant the translator applies no tenant rule; neither does admission.
  if (set.tenants.length === 0) return ALLOWED;
  const incoming = withCreation(obj, oldObj, now);
  const view = withObject(set, incoming);
  const key = objectKey(incoming);
  const refusals = admitTenants(view, opts).refusals.filter((r) => objectKey(r.obj) === key);
  if (refusals.length === 0) return ALLOWED;
  const messages = refusals.map(refusalMessage);
  const whole = refusals.filter((r) => !r.hosts);
  if (whole.length === 0) return { allowed: true, warnings: messages };
  if (op === "UPDATE" && oldObj && sameDemand(set, opts, incoming, oldObj))
    return { allowed: true, warnings: messages };
  return {
    allowed: false,
    message: whole.map(refusalMessage).join("; "),
    reasons: [...new Set(whole.map((r) => r.reason))],
    warnings: refusals.filter((r) => r.hosts).map(refusalMessage),
  };
}

/**
 * withCreation gives the object its creation time: the API server sets it before validating
 * admission, but a request without one (an older server, a test) is a new claim, the newest.
 * An UPDATE keeps the stored object's time, as the stored object will.
 */
function withCreation(obj: AnyObject, oldObj: AnyObject | undefined, now: Date): AnyObject {
  if (obj.metadata.creationTimestamp) return obj;
  const at = oldObj?.metadata.creationTimestamp ?? now.toISOString().replace(/\.\d+Z$/, "Z");
  return { ...obj, metadata: { ...obj.metadata, creationTimestamp: at } };
}

/** withObject is the view with obj in place of the object of the same kind, namespace and name. */
export function withObject(set: ResourceSet, obj: AnyObject): ResourceSet {
  const key = objectKey(obj);
  const objects = allObjects(set).filter((o) => objectKey(o) !== key);
  objects.push(obj);
  return buildResourceSet(objects, set.origins, set.errors);
}

/** sameDemand tells whether obj asks its tenant for what oldObj asked (hostnames, quotas, group). */
function sameDemand(set: ResourceSet, opts: TranslateOptions, obj: AnyObject, oldObj: AnyObject): boolean {
  const key = objectKey(obj);
  const demand = (o: AnyObject) => {
    const c = collectClaims(withObject(set, o), opts).find((x) => objectKey(x.obj) === key);
    return c ? fingerprint(c) : "";
  };
  return demand(obj) === demand(oldObj);
}
