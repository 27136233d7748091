// view.test.ts: a webhook watch whose listing fails says why (readiness) and lists again until it works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emptyResourceSet } from "../../k8s/resource-set.ts";
import type { KubeClient } from "../../sources/kube/client.ts";
import { listingDetail } from "./serve.ts";
import { AdmissionWatch } from "./view.ts";

test("AdmissionWatch: a failed listing is kept for readiness and retried on fresh informers", async () => {
  let made = 0;
  let closed = 0;
  const make = () => {
    const n = ++made;
    return {
      start: () =>
        n === 1
          ? Promise.reject(new Error("GET /apis/portico.dev/v1alpha1/vippools: 403 Forbidden: cannot list"))
          : Promise.resolve(emptyResourceSet()),
      snapshot: () => emptyResourceSet(),
      close: () => void closed++,
    };
  };
  const watch = new AdmissionWatch(
    {} as KubeClient,
    [],
    () => undefined,
    () => undefined,
    make,
  );
  watch.start();
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok());
  };
  try {
    await until(() => watch.error() !== undefined);
    assert.equal(watch.synced(), false);
    assert.match(
      listingDetail(watch.error()),
      /^the webhook's listing failed: .*403 Forbidden.*; retrying\. Grant the controller list\/watch on Service, .*VipPool.* or drop --admission-listen/,
    );
    await until(() => watch.synced());
    assert.equal(made, 2);
    assert.equal(closed, 1, "the failed informers are closed");
    assert.equal(watch.error(), undefined);
    assert.ok(watch.view());
  } finally {
    watch.close();
  }
});
