// driver-child.ts: a BirdDriver in its own process, driven over stdin/stdout by driver.test.ts, so
// the test can SIGKILL "the engine" and watch its BIRD die with it. Usage: node driver-child.ts
// RUNDIR. stdin: one JSON line per command, {"op":"set","speaker":…,"routes":[…]} or {"op":"close"}.
// stdout: one JSON line per event: {"type":"status",peers,daemon,pid} on every change,
// {"type":"set",ok,error?,code?} when a set settles, {"type":"closed"}. Log lines go to stderr.
import { createInterface } from "node:readline";
import { BirdDriver } from "../driver.ts";

const runDir = process.argv[2];
if (!runDir) throw new Error("usage: driver-child.ts RUNDIR");

const send = (msg: unknown) => process.stdout.write(JSON.stringify(msg) + "\n");
const driver = new BirdDriver({
  runDir,
  log: (level, msg, fields) => process.stderr.write(JSON.stringify({ level, msg, ...fields }) + "\n"),
});
const status = () =>
  send({ type: "status", peers: driver.peers(), daemon: driver.daemon(), pid: driver.pid });
driver.onChange(status);

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { op: string; speaker?: never; routes?: never[] };
  if (cmd.op === "set") {
    try {
      await driver.set(cmd.speaker, cmd.routes ?? []);
      send({ type: "set", ok: true });
      status();
    } catch (e) {
      send({ type: "set", ok: false, error: String(e), code: (e as { code?: string }).code });
    }
  } else if (cmd.op === "close") {
    await driver.close();
    send({ type: "closed" });
    process.exit(0);
  }
}
