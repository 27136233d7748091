// bcrypt-pool.ts: runs bcrypt checks on one worker thread per engine process. bcrypt is slow by
// design (~8 ms at htpasswd's default cost 5, ~270 ms at cost 10 on this machine); on the event
// loop, every client guessing a password stalled every connection of the engine for that long. Here
// the loop only waits on a message. The queue is bounded: past BCRYPT_QUEUE_MAX checks in flight a
// check answers "busy" and the request is refused (503), never let in.
import type { Worker } from "node:worker_threads";
import { nodeWorkerThreads } from "../lazy-node.ts";

/** BCRYPT_QUEUE_MAX bounds the checks waiting for the thread; more answer "busy". */
export const BCRYPT_QUEUE_MAX = 64;

// The thread runs from the same tree as this module: the .ts sources, or the JS build of bin/portico.
const threadFile = new URL(
  import.meta.url.endsWith(".ts") ? "./bcrypt-thread.ts" : "./bcrypt-thread.js",
  import.meta.url,
);

/** FAILED_STARTS_MAX: after this many threads in a row died before answering, no new one starts. */
const FAILED_STARTS_MAX = 3;

interface Thread {
  worker: Worker;
  /** waiting are this thread's checks by id: a thread that dies fails its own, never a successor's. */
  waiting: Map<number, (ok: boolean) => void>;
  answered: boolean;
}

let current: Thread | undefined;
let failedStarts = 0;
let nextId = 0;

// start makes the thread on first use; it is unref'd while idle so it never keeps a process alive.
function start(): Thread | undefined {
  // A thread that cannot start (a broken install) fails every check closed; starting one per
  // request would let any client make the engine spawn threads at its request rate.
  if (failedStarts >= FAILED_STARTS_MAX) return undefined;
  const t: Thread = {
    worker: new (nodeWorkerThreads().Worker)(threadFile),
    waiting: new Map(),
    answered: false,
  };
  t.worker.unref();
  t.worker.on("message", (m: { id: number; ok: boolean }) => {
    if (!t.answered) failedStarts = 0;
    t.answered = true;
    const done = t.waiting.get(m.id);
    t.waiting.delete(m.id);
    if (t.waiting.size === 0) t.worker.unref();
    done?.(m.ok);
  });
  let ended = false;
  const fail = (err?: Error) => {
    if (ended) return;
    ended = true;
    if (!t.answered) failedStarts++;
    if (err !== undefined && failedStarts >= FAILED_STARTS_MAX)
      process.emitWarning(
        `basic auth: the bcrypt thread cannot run (${err.message}); bcrypt users are refused`,
      );
    if (current === t) current = undefined;
    for (const done of t.waiting.values()) done(false);
    t.waiting.clear();
  };
  t.worker.on("error", fail);
  t.worker.on("exit", () => fail());
  return t;
}

/** bcryptCheckOffThread checks password against a bcrypt hash on the thread; "busy" when the queue is full. */
export function bcryptCheckOffThread(password: Uint8Array, hash: string): Promise<boolean> | "busy" {
  const t = (current ??= start());
  if (t === undefined) return Promise.resolve(false);
  if (t.waiting.size >= BCRYPT_QUEUE_MAX) return "busy";
  const id = nextId++;
  t.worker.ref();
  return new Promise((resolve) => {
    t.waiting.set(id, resolve);
    t.worker.postMessage({ id, password, hash });
  });
}

/** bcryptWarm starts the thread now (it computes Blowfish's tables, ~0.3 s), so no request waits for it. */
export function bcryptWarm(): void {
  current ??= start();
}
