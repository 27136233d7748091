// bcrypt-thread.ts: the worker thread that checks bcrypt passwords for basic auth (bcrypt-pool.ts),
// so that bcrypt's deliberate slowness (~270 ms at cost 10) never runs on the engine's event loop.
import { parentPort } from "node:worker_threads";
import { bcryptCheck, bcryptPrepare } from "./bcrypt.ts";

bcryptPrepare();
parentPort!.on("message", (m: { id: number; password: Uint8Array; hash: string }) => {
  let ok = false;
  try {
    ok = bcryptCheck(Buffer.from(m.password), m.hash);
  } catch {
    ok = false; // a malformed hash lets no one in
  }
  parentPort!.postMessage({ id: m.id, ok });
});
