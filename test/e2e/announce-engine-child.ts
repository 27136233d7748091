// announce-engine-child.ts: an engine port (createEnginePort, as `portico engine` makes it) in a
// network namespace, serving one HTTP VIP that it announces by L2, for announce-engine.test.ts.
// argv: NAME VIP. Stdout gets one JSON line per event: {applied, listeners}, {announce} on every
// change, {drained} after SIGTERM's drain; a backend on loopback answers "served by NAME".
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createEnginePort } from "../../src/controller/engine-port.ts";
import { createLogger } from "../../src/controller/log.ts";
import { catchAllListener, poolOf } from "../../src/engine/l7/testing.ts";
import type { EngineSnapshot } from "../../src/model/ir.ts";

const [name, vip] = [process.argv[2]!, process.argv[3]!];
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const backend = createServer((_req, res) => res.end(`served by ${name}\n`));
await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
const port = await createEnginePort(createLogger(process.stderr, "warn"));
port.onAnnounceChange?.(() => out({ announce: port.announce?.() }));
const snapshot: EngineSnapshot = {
  version: 1,
  l4: [],
  http: [catchAllListener("vip", { address: vip, port: 8080 })],
  pools: { p: poolOf("p", [(backend.address() as AddressInfo).port]) },
  certificates: {},
  announce: { leaseMs: 3000, withdrawDelayMs: 300, vips: [{ address: vip, pool: "edge", mode: "L2" }] },
};
const applied = await port.apply(snapshot);
out({
  applied,
  listeners: port.status()?.listeners,
  announce: port.announce?.(),
  metrics: await port.metrics(),
});
process.once("SIGTERM", () => {
  void (async () => {
    const drained = await port.drain!(5000);
    await port.close();
    out({ drained });
    backend.close();
    process.exit(0);
  })();
});
