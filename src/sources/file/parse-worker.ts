// parse-worker.ts: a throwaway thread that parses one large manifest (see isolate.ts). Its heap,
// and every byte of garbage the parse made, goes away when it exits.
import { parentPort, workerData } from "node:worker_threads";
import { parseManifests } from "./parse.ts";

const { path, bytes } = workerData as { path: string; bytes: Uint8Array };
parentPort!.postMessage(
  parseManifests(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8")),
);
