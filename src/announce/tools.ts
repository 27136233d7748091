// tools.ts: how the announcer runs the system's tools (ip, arping, na6, sysctl) — asynchronously,
// so the engine's event loop never waits on a child, and optionally inside a network namespace
// (`ip netns exec NS`), for hosts that keep engines in one and for the tests. A tool that is not
// installed is a ToolMissing naming the Debian package, found before the first use.
import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** PACKAGES names the Debian package of each tool the announcer runs. */
export const PACKAGES: Readonly<Record<string, string>> = {
  ip: "iproute2",
  arping: "iputils-arping",
  na6: "ipv6toolkit",
  sysctl: "procps",
};

/** RunResult is a finished child: its exit code (null when a signal ended it) and its output. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** ToolMissing is thrown when a tool is not on PATH; code "ToolMissing", message names the package. */
export class ToolMissing extends Error {
  readonly code = "ToolMissing";
  constructor(tool: string) {
    super(
      `${tool} is not installed on this node: install the Debian package ${PACKAGES[tool] ?? tool} (apt-get install ${PACKAGES[tool] ?? tool}) in the engine's image`,
    );
  }
}

/** Tools runs commands, optionally in a network namespace, and remembers which tools exist. */
export class Tools {
  readonly #netns: string | undefined;
  readonly #found = new Map<string, Promise<string | undefined>>();

  constructor(netns?: string) {
    this.#netns = netns;
  }

  /** require resolves with tool's path, or throws ToolMissing when it is not installed. */
  async require(tool: string): Promise<string> {
    let found = this.#found.get(tool);
    if (found === undefined) {
      found = onPath(tool);
      this.#found.set(tool, found);
    }
    const path = await found;
    if (path === undefined) throw new ToolMissing(tool);
    return path;
  }

  /** run starts tool with args (stdin: input), resolving when it exits; it never rejects on an exit code. */
  async run(tool: string, args: readonly string[], input?: string): Promise<RunResult> {
    const path = await this.require(tool);
    const [cmd, argv] = this.#netns
      ? [await this.require("ip"), ["netns", "exec", this.#netns, path, ...args]]
      : [path, [...args]];
    return new Promise((resolve) => {
      const child = spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.once("error", (e) => resolve({ code: -1, stdout, stderr: stderr + e.message }));
      child.once("close", (code) => resolve({ code, stdout, stderr }));
      // A child that exits before reading its input must not crash the engine with EPIPE.
      child.stdin.on("error", () => {});
      child.stdin.end(input ?? "");
    });
  }
}

async function onPath(tool: string): Promise<string | undefined> {
  // /usr/sbin and /sbin hold ip and sysctl on Debian but are not on every user's PATH.
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"].filter(Boolean);
  for (const dir of dirs) {
    try {
      await access(join(dir, tool), constants.X_OK);
      return join(dir, tool);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
