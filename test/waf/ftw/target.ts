// target.ts: starts what the corpus runs against: the albedo-like backend (in this process) and
// Portico (portico.ts, a child process) on a loopback VIP, with its access log followed.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { startBackend } from "./backend.ts";
import { AccessLog } from "./log.ts";

/** Target is a running Portico VIP with its access log. */
export interface Target {
  address: string;
  port: number;
  log: AccessLog;
  /** problems are Portico's warn/error lines and its exit, newest last (for failure reports). */
  problems: string[];
  /** alive is false once the Portico child has exited. */
  alive: () => boolean;
  stop: () => Promise<void>;
}

/** CORAZA_BIN is Coraza's side of the comparison, built by test/waf/ftw/coraza/build.sh. */
export const CORAZA_BIN = join(import.meta.dirname, "../../../.cache/ftw-coraza/ftw-coraza");

/**
 * startTarget starts the backend and Portico on address:port (or, target "coraza", Coraza with
 * its own albedo-like handler, same policy and log format); rejects with the target's words if it
 * does not become ready within readyMs (compiling the CRS at paranoia level 4 takes seconds).
 */
export async function startTarget(
  address: string,
  port: number,
  readyMs = 120_000,
  target: "portico" | "coraza" = "portico",
  crsDir = join(import.meta.dirname, "../../../.cache/crs/current"),
): Promise<Target> {
  const backend = await startBackend();
  const child =
    target === "coraza"
      ? spawn(CORAZA_BIN, ["-address", address, "-port", String(port), "-crs", crsDir], {
          stdio: ["ignore", "pipe", "pipe"],
        })
      : spawn(
          process.execPath,
          [
            "--disable-warning=ExperimentalWarning",
            join(import.meta.dirname, "portico.ts"),
            "--address",
            address,
            "--port",
            String(port),
            "--backend",
            `127.0.0.1:${backend.port}`,
          ],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
  const reap = (): void => void child.kill("SIGKILL");
  process.once("exit", reap);
  const log = new AccessLog();
  log.follow(child.stdout!);
  const errors: string[] = [];
  let err = "";
  const exited = new Promise<void>((r) =>
    child.once("exit", (code, signal) => {
      errors.push(`Portico exited (${code ?? signal})`);
      r();
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Portico not ready after ${readyMs} ms`)), readyMs);
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        const lines = err.split("\n");
        err = lines.pop()!;
        for (const l of lines) {
          if (l.includes('"msg":"ready"')) {
            clearTimeout(timer);
            resolve();
          } else if (l.trim()) errors.push(l);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`Portico exited (${child.exitCode})`));
      });
    });
  } catch (e) {
    child.kill("SIGKILL");
    await backend.close();
    throw new Error(`${(e as Error).message}:\n${errors.slice(-20).join("\n")}`, { cause: e });
  }
  return {
    address,
    port,
    log,
    problems: errors,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      process.off("exit", reap);
      await backend.close();
    },
  };
}
