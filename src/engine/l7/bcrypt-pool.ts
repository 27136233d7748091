// bcrypt-pool.ts: runs bcrypt checks on one worker thread per engine process. bcrypt is slow by
// design (~8 ms at htpasswd's default cost 5, ~270 ms at cost 10 on this machine); on the event
// loop, every client guessing a password stalled every connection of the engine for that long. Here
// the loop only waits on a message. The queue is bounded: past BCRYPT_QUEUE_MAX checks in flight a
// check answers "busy" and the request is refused (503), never let in.
import { Worker } from "node:worker_threads";

/** BCRYPT_QUEUE_MAX bounds the checks waiting for the thread; more answer "busy". */
export const BCRYPT_QUEUE_MAX = 64;

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, (ok: boolean) => void>();

// start makes the thread on first use; it is unref'd while idle so it never keeps a process alive.
function start(): Worker {
  const w = new Worker(new URL("./bcrypt-thread.ts", import.meta.url));
  w.unref();
  w.on("message", (m: { id: number; ok: boolean }) => {
    const done = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) w.unref();
    done?.(m.ok);
  });
  // A thread that dies fails its checks closed; the next check starts a new one.
  const fail = () => {
    if (worker === w) worker = undefined;
    for (const done of waiting.values()) done(false);
    waiting.clear();
  };
  w.on("error", fail);
  w.on("exit", fail);
  return w;
}

/** bcryptCheckOffThread checks password against a bcrypt hash on the thread; "busy" when the queue is full. */
export function bcryptCheckOffThread(password: Uint8Array, hash: string): Promise<boolean> | "busy" {
  if (waiting.size >= BCRYPT_QUEUE_MAX) return "busy";
  const w = (worker ??= start());
  const id = nextId++;
  w.ref();
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    w.postMessage({ id, password, hash });
  });
}

/** bcryptWarm starts the thread now (it computes Blowfish's tables, ~0.3 s), so no request waits for it. */
export function bcryptWarm(): void {
  worker ??= start();
}
