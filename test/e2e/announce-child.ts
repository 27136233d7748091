// announce-child.ts: a KernelAnnouncer alone in a process, for the tests that kill or freeze it
// (announce-l2.test.ts). argv[2] is the Announcement as JSON; it prepares and commits it, then
// prints every status change as one JSON line on stdout ({"status": ...}) until killed.
import { KernelAnnouncer } from "../../src/announce/announcer.ts";
import type { Announcement } from "../../src/model/ir.ts";

const announcement = JSON.parse(process.argv[2]!) as Announcement;
const a = new KernelAnnouncer({
  log: (level, msg, fields) => process.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`),
});
const say = () => process.stdout.write(`${JSON.stringify({ status: a.status() })}\n`);
a.onChange(say);
await a.prepare(announcement);
await a.commit(announcement);
say();
// The lease timer does not hold the process open (it is unref'd): this does, like an engine's listeners.
setInterval(() => {}, 60_000);
process.once("SIGTERM", () => void a.close().then(() => process.exit(0)));
