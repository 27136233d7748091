// waf-portico.ts: the Portico of `npm run bench:waf`, one engine with the WAF bench's snapshot and
// no log; run from the JS build (scripts/build.sh) like bench/portico-engine.ts.
//   waf-portico.js --address=127.0.0.61 --port=8000 --backend=127.0.0.62:8080 [--waf]
import { parseArgs } from "node:util";
import { Engine } from "../src/engine/engine.ts";
import { compileHttp } from "../src/engine/l7/compile.ts";
import { BENCH_WAF, wafBenchSnapshot } from "./waf-configs.ts";

const { values: opt } = parseArgs({
  options: {
    address: { type: "string", default: "127.0.0.61" },
    port: { type: "string", default: "8000" },
    backend: { type: "string", default: "127.0.0.62:8080" },
    waf: { type: "boolean", default: false },
  },
});
const i = opt.backend.lastIndexOf(":");
const backend = { address: opt.backend.slice(0, i), port: Number(opt.backend.slice(i + 1)) };
const engine = new Engine({ compileHttp });
const at = { address: opt.address, port: Number(opt.port) };
const r = engine.apply(wafBenchSnapshot(at, backend, opt.waf ? BENCH_WAF : undefined));
if (!r.ok) throw new Error(`snapshot rejected: ${r.error}`);
await engine.settled();
const bad = engine.status().listeners.filter((l) => l.state !== "bound");
if (bad.length > 0) throw new Error(`listener not bound: ${JSON.stringify(bad)}`);
process.on("SIGTERM", () => void engine.close().then(() => process.exit(0)));
