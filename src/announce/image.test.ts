// image.test.ts: the engine image (deploy/Dockerfile) installs the Debian package of every tool the
// announcer runs (tools.ts PACKAGES) and BIRD's, so no pool fails with ToolMissing in the image
// Portico ships (an IPv6 L2 VIP needs na6, an aggregated BGP VIP sysctl).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PACKAGES } from "./tools.ts";

test("deploy/Dockerfile installs every announcing tool's package", () => {
  const text = readFileSync(new URL("../../deploy/Dockerfile", import.meta.url), "utf8");
  // The runtime stage's apt-get install line(s), continuation lines joined.
  const runtime = text.slice(text.lastIndexOf("\nFROM ")).replace(/\\\n/g, " ");
  const installed = new Set(
    [...runtime.matchAll(/apt-get install ([^&\n]*)/g)].flatMap((m) =>
      m[1]!.split(/\s+/).filter((w) => w && !w.startsWith("-")),
    ),
  );
  for (const pkg of [...new Set(Object.values(PACKAGES)), "bird2"])
    assert.ok(installed.has(pkg), `deploy/Dockerfile's runtime image does not install ${pkg}`);
});
