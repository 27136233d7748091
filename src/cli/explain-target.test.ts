// explain-target.test.ts: the ways a kubectl user names the object `portico explain` explains.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseExplainTarget } from "./offline.ts";

test("parseExplainTarget: KIND/NS/NAME, KIND/NAME, KIND NAME, KIND NS/NAME", () => {
  const rows: [string[], unknown][] = [
    [["service/shop/web", "dir"], { kind: "service", namespace: "shop", name: "web", dirs: ["dir"] }],
    [["svc/web", "a", "b"], { kind: "service", namespace: "default", name: "web", dirs: ["a", "b"] }],
    [["service", "web", "dir"], { kind: "service", namespace: "default", name: "web", dirs: ["dir"] }],
    [["ing", "shop/site", "dir"], { kind: "ingress", namespace: "shop", name: "site", dirs: ["dir"] }],
    [["Ingress/shop/site"], { kind: "ingress", namespace: "shop", name: "site", dirs: [] }],
    [["pod/web", "dir"], undefined],
    [["service//web", "dir"], undefined],
    [["service/a/b/c", "dir"], undefined],
    [["service"], undefined],
    [[], undefined],
  ];
  for (const [argv, want] of rows) assert.deepEqual(parseExplainTarget(argv), want, argv.join(" "));
});
