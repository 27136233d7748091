// h2spec.ts: runs h2spec (built by scripts/h2spec/build.sh into .cache/h2spec) for the tests that
// check an HTTP/2 server against it, and reads its summary line; and the backend the engine's
// h2spec runs route to.
import { execFile } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

const binary = path.resolve(import.meta.dirname, "../../.cache/h2spec/h2spec");
// ANSI colour codes h2spec prints even into a pipe.
const ANSI = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** h2specMissing says whether h2spec is not built (warns; throws under PORTICO_REQUIRE_H2SPEC=1). */
export function h2specMissing(): boolean {
  if (existsSync(binary)) return false;
  const msg =
    "h2spec is not built: run `bash scripts/h2spec/build.sh` (needs Go); the h2spec cases are SKIPPED";
  if (process.env.PORTICO_REQUIRE_H2SPEC === "1") throw new Error(msg);
  console.warn(`WARNING: ${msg}`);
  return true;
}

/** H2specResult is h2spec's summary and its output (colour codes removed). */
export interface H2specResult {
  total: number;
  passed: number;
  failed: number;
  out: string;
  /** failures is the output from "Failures", for an assertion message. */
  failures: string;
}

/** runH2spec runs h2spec against 127.0.0.1:port with the given specs (none: all), over TLS if asked. */
export function runH2spec(port: number, specs: string[] = [], tls = false): Promise<H2specResult> {
  return new Promise((resolve, reject) =>
    execFile(
      binary,
      [...(tls ? ["-t", "-k"] : []), "-h", "127.0.0.1", "-p", String(port), "-o", "2", ...specs],
      { timeout: 120_000, env: { ...process.env, NO_COLOR: "1", TERM: "dumb" } },
      (_err, stdout, stderr) => {
        const out = (stdout + stderr).replace(ANSI, "").replace(/\0/g, "");
        const m = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(out);
        if (m === null) return reject(new Error(`h2spec printed no summary:\n${out.slice(-2000)}`));
        const at = out.indexOf("Failures");
        resolve({
          total: Number(m[1]),
          passed: Number(m[2]),
          failed: Number(m[4]),
          out,
          failures: at < 0 ? "" : out.slice(at),
        });
      },
    ),
  );
}

/**
 * lateBackend is the HTTP/1.1 backend the engine's h2spec runs route to: it answers 100 ms after
 * the request ended. Cases like 5.1/5 send HEADERS with END_STREAM and then a frame the stream
 * must refuse; an instant answer could close the stream before that frame arrives on a loaded
 * machine (CI saw it), and h2spec would read the answer as the reply. The delay keeps the stream
 * half-closed (remote) while the case runs.
 */
export async function lateBackend(): Promise<{ port: number; close(): void }> {
  const backend = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.end("hello\n"), 100));
  });
  backend.listen(0, "127.0.0.1");
  await once(backend, "listening");
  return {
    port: (backend.address() as AddressInfo).port,
    close() {
      backend.close();
      backend.closeAllConnections();
    },
  };
}
