import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ENGINE_NODE_FLAGS } from "./v8-tuning.ts";
import { porticoEngineArgv } from "../../bench/proxies.ts";
import type { Topology } from "../../bench/topology.ts";

const root = join(import.meta.dirname, "..", "..");

// V8's flags cannot be read back from JavaScript; what they change can: --trace-opt names the
// compiler each optimisation targets. Each run is a fresh process, as an engine's is.
function optimisedWith(flags: readonly string[]): string {
  const script = `
    function sum(o) { let s = 0; for (const k in o) s += o[k]; return s; }
    let x = 0;
    for (let i = 0; i < 300000; i++) x += sum({ a: 1, b: i & 3 });
    if (x === 0) console.log("never");`;
  return execFileSync(process.execPath, [...flags, "--trace-opt", "-e", script]).toString();
}

test("a process started with the engine's flags optimises with TurboFan only: no Maglev code paged in", () => {
  assert.match(
    optimisedWith([]),
    /target MAGLEV/,
    "without the flags this function is optimised with Maglev first",
  );
  const tuned = optimisedWith(ENGINE_NODE_FLAGS);
  assert.match(tuned, /target TURBOFAN/);
  assert.doesNotMatch(tuned, /target MAGLEV/);
});

test("bin/portico, the image and the bench start engines with the engine's flags", () => {
  const exec = readFileSync(join(root, "bin/portico"), "utf8")
    .split("\n")
    .find((l) => l.startsWith("exec "));
  const entrypoint = readFileSync(join(root, "deploy/Dockerfile"), "utf8")
    .split("\n")
    .find((l) => l.startsWith("ENTRYPOINT "));
  const topology = {
    proxies: { Portico: "127.0.0.12" },
    ...{ httpPort: 8000, httpsPort: 8443, tcpPort: 9000, certFile: "c.pem", keyFile: "k.pem" },
    backend: { address: "127.0.0.2", port: 8080 },
    iperf: { address: "127.0.0.3", port: 5201 },
  };
  const argv = porticoEngineArgv("portico-engine.js", topology as unknown as Topology, 1);
  for (const flag of ENGINE_NODE_FLAGS) {
    assert.ok(exec?.includes(` ${flag} `), `bin/portico's exec line passes ${flag}: ${exec}`);
    assert.ok(entrypoint?.includes(`"${flag}"`), `the Dockerfile's ENTRYPOINT passes ${flag}: ${entrypoint}`);
    assert.ok(argv.indexOf(flag) < argv.indexOf("portico-engine.js"), `the bench passes ${flag} to node`);
  }
});
