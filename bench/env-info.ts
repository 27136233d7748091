// env-info.ts: what the report says about the machine and the tools' versions.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release } from "node:os";

/** firstLine runs argv and returns the first non-empty line of its output (stdout or stderr). */
function firstLine(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  const text = `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
  return (
    text
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? "unknown"
  );
}

/** environment describes the machine, the kernel and every tool of the run. */
export function environment(): Record<string, string> {
  let load = "unknown";
  try {
    load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    // Not Linux; the harness needs taskset anyway.
  }
  return {
    CPU: `${cpus()[0]?.model ?? "unknown"} × ${cpus().length}`,
    kernel: release(),
    "load average at start": load,
    Node: process.version,
    HAProxy: firstLine(["haproxy", "-v"]),
    nginx: firstLine(["nginx", "-v"]),
    wrk: firstLine(["wrk", "-v"]),
    h2load: firstLine(["h2load", "--version"]),
    iperf3: firstLine(["iperf3", "--version"]),
    OpenSSL: firstLine(["openssl", "version"]),
  };
}
