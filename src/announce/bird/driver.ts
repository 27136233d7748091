// driver.ts: BirdDriver runs one engine's BIRD 2 as a child process and keeps its configuration
// equal to the last set(). BIRD is started as `setpriv --pdeathsig SIGKILL -- bird -f -c CONF -s
// SOCK`: the kernel kills it when the engine dies (even by SIGKILL), its TCP sessions close, and
// the routers withdraw the engine's routes at once instead of after a hold time. A changed
// configuration is reloaded with `birdc configure` (sessions whose settings did not change stay
// up); an unchanged one does not touch BIRD. The driver polls `birdc show protocols all` every
// pollMs for peers() and onChange, and restarts BIRD with backoff when it exits.
//
// Passwords: the configuration file holds them, so it is written 0600 in a 0700 directory and
// deleted on close(); no log line of this file carries configuration text.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { delimiter, join } from "node:path";
import type { BgpSpeaker } from "../../model/ir.ts";
import type { AnnounceStatus, BgpDriver, BgpPeerStatus, BgpRoute } from "../types.ts";
import { birdConfig, BirdConfigError, type BirdConfig } from "./config.ts";
import { downStatuses, parseProtocols, peerStatuses } from "./status.ts";
import { serializer } from "../serial.ts";

/** BirdDriverOptions place and tune the driver. */
export interface BirdDriverOptions {
  /** runDir holds bird.conf and the control socket bird.ctl; created 0700. Keep it short (socket path ≤ 107 bytes). */
  runDir: string;
  /** log writes one structured line; the driver never passes configuration text or passwords. */
  log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  /** pollMs is how often peers are read from BIRD (default 1000). */
  pollMs?: number;
  /** restartDelayMs is the first wait before restarting BIRD after it exited; it doubles up to 10 s (default 250). */
  restartDelayMs?: number;
  /** path is where bird, birdc and setpriv are looked for (default $PATH plus the sbin directories). */
  path?: string;
}

type Daemon = NonNullable<AnnounceStatus["daemon"]>;

// A BIRD that ran this long before exiting was healthy: the next restart waits restartDelayMs again.
const HEALTHY_RUN_MS = 30_000;
const MAX_RESTART_DELAY_MS = 10_000;
const SOCKET_WAIT_MS = 10_000;
const BIRDC_TIMEOUT_MS = 5_000;

/** BirdDriver is the BgpDriver backed by a BIRD 2 child process. */
export class BirdDriver implements BgpDriver {
  private readonly opts: Required<Omit<BirdDriverOptions, "path">> & { path: string };
  private readonly conf: string;
  private readonly sock: string;
  private config: BirdConfig | undefined;
  /** unapplied: bird.conf changed but `birdc configure` failed; the running BIRD has the older one. */
  private unapplied = false;
  /** written is the text bird.conf holds now. */
  private written: string | undefined;
  private bins: { bird: string; birdc: string; setpriv: string } | undefined;
  private addresses = new Map<string, string>();
  private child: ChildProcess | undefined;
  private ready = false;
  private stopping = false;
  private closed = false;
  private status: Daemon | undefined;
  private peerList: BgpPeerStatus[] = [];
  private restarts = 0;
  private failures = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly subs = new Set<() => void>();
  // serial runs set(), restarts and close() one at a time, so BIRD is never started twice.
  private readonly serial = serializer();

  constructor(opts: BirdDriverOptions) {
    const extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"];
    this.opts = {
      pollMs: 1000,
      restartDelayMs: 250,
      ...opts,
      path: opts.path ?? [process.env.PATH ?? "", ...extra].join(delimiter),
    };
    this.conf = join(opts.runDir, "bird.conf");
    this.sock = join(opts.runDir, "bird.ctl");
    if (Buffer.byteLength(this.sock) > 107) {
      throw new BirdConfigError(
        "RunDirTooLong",
        `runDir ${opts.runDir}`,
        "the control socket path exceeds 107 bytes; use a shorter directory",
      );
    }
  }

  /** pid is BIRD's process id while it runs (logs and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  set(speaker: BgpSpeaker | undefined, routes: readonly BgpRoute[]): Promise<void> {
    return this.serial(async () => {
      if (this.closed) throw new Error("BirdDriver is closed");
      if (!speaker) {
        await this.stop();
        this.config = undefined;
        this.failures = 0;
        this.addresses = new Map();
        this.update(undefined, []);
        return;
      }
      const next = birdConfig(speaker, routes);
      this.addresses = new Map(speaker.peers.map((p) => [p.name, p.address]));
      if (next.text === this.config?.text && !this.unapplied) return;
      const bins = this.binaries();
      if (typeof bins === "string") {
        // Reported as the daemon's state; the restart timer retries, so installing bird2 heals it.
        this.config = next;
        if (!this.restartTimer) this.fail(bins, false);
        return;
      }
      await this.writeConfig(next.text, bins.bird);
      this.config = next;
      if (this.child && this.ready) {
        // Until BIRD took it, the same set() again must retry rather than count as unchanged.
        this.unapplied = true;
        await this.reconfigure(bins.birdc);
        this.unapplied = false;
        await this.poll();
      } else if (!this.child && !this.restartTimer) {
        await this.start();
      } else if (this.status) {
        // BIRD is down and due back: the new peers are reported Down with the reason until then.
        this.update(
          this.status,
          downStatuses(this.addresses, this.peerList, this.status.message ?? "", new Date()),
        );
      }
    });
  }

  peers(): BgpPeerStatus[] {
    return this.peerList.map((p) => ({ ...p }));
  }

  daemon(): AnnounceStatus["daemon"] {
    return this.status && { ...this.status };
  }

  onChange(fn: () => void): void {
    this.subs.add(fn);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.serial(async () => {
      await this.stop();
      // The file holds the peers' passwords: it does not outlive the speaker.
      await rm(this.conf, { force: true });
      this.written = undefined;
      this.subs.clear();
    });
  }

  /** binaries finds bird, birdc and setpriv, or says which is missing and which package brings it. */
  private binaries(): { bird: string; birdc: string; setpriv: string } | string {
    const find = (name: string) =>
      this.opts.path
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, name))
        .find((f) => {
          try {
            accessSync(f, constants.X_OK);
            return true;
          } catch {
            return false;
          }
        });
    const bird = find("bird");
    const birdc = find("birdc");
    const setpriv = find("setpriv");
    if (!bird || !birdc)
      return "bird/birdc not found on PATH or in /usr/sbin: install the Debian package bird2 (BIRD 2)";
    if (!setpriv) return "setpriv not found: install the Debian package util-linux";
    return { bird, birdc, setpriv };
  }

  private async writeConfig(text: string, bird: string): Promise<void> {
    await mkdir(this.opts.runDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.conf}.new`;
    await writeFile(tmp, text, { mode: 0o600 });
    await chmod(tmp, 0o600);
    // bird -p parses without running: a configuration BIRD rejects never replaces the last good one.
    const check = await run(bird, ["-p", "-c", tmp]);
    if (check.code !== 0) {
      await rm(tmp, { force: true });
      throw new BirdConfigError(
        "ConfigRejected",
        "BIRD configuration",
        `bird -p rejected it: ${firstLine(check.stderr)}`,
      );
    }
    await rename(tmp, this.conf);
    this.written = text;
  }

  private async start(): Promise<void> {
    this.restartTimer = undefined;
    if (this.closed || !this.config) return;
    const bins = this.binaries();
    if (typeof bins === "string") return this.fail(bins, false);
    if (this.written !== this.config.text) {
      try {
        await this.writeConfig(this.config.text, bins.bird);
      } catch (e) {
        return this.fail(e instanceof Error ? e.message : String(e), false);
      }
    }
    this.bins = bins;
    this.unapplied = false;
    this.stopping = false;
    this.ready = false;
    // The socket file of a BIRD that was killed stays behind; a fresh one replaces it.
    await rm(this.sock, { force: true });
    const child = spawn(
      bins.setpriv,
      ["--pdeathsig", "SIGKILL", "--", bins.bird, "-f", "-c", this.conf, "-s", this.sock],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    this.child = child;
    this.startedAt = Date.now();
    const tail: string[] = [];
    let buffered = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines.filter(Boolean)) {
        tail.push(line);
        if (tail.length > 5) tail.shift();
        this.opts.log("warn", "bird: " + line);
      }
    });
    const exited = new Promise<string>((resolve) => {
      child.once("error", (e) => resolve(`could not start bird: ${e.message}`));
      child.once("exit", (code, signal) =>
        resolve(
          `bird exited (${signal ?? `code ${code}`})${tail.length ? ": " + tail[tail.length - 1] : ""}`,
        ),
      );
    });
    void exited.then((why) => this.exited(child, why));
    const up = await Promise.race([waitSocket(this.sock, SOCKET_WAIT_MS), exited.then(() => false)]);
    if (this.child !== child) return;
    if (!up) {
      child.kill("SIGKILL");
      return;
    }
    this.ready = true;
    this.opts.log("info", "bird started", { pid: child.pid, restarts: this.restarts });
    this.update({ state: "Running", restarts: this.restarts }, this.peerList);
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs);
    await this.poll();
  }

  private exited(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.ready = false;
    clearInterval(this.pollTimer);
    if (this.stopping || this.closed) return;
    this.opts.log("error", why, { restarts: this.restarts });
    if (Date.now() - this.startedAt > HEALTHY_RUN_MS) this.failures = 0;
    this.restarts++;
    this.fail(why, true);
  }

  /** fail reports the daemon Failed, every peer Down, and schedules another start with backoff. */
  private fail(message: string, counted: boolean): void {
    const delay = Math.min(this.opts.restartDelayMs * 2 ** this.failures, MAX_RESTART_DELAY_MS);
    this.failures++;
    if (!counted) this.opts.log("error", message);
    this.update(
      { state: "Failed", message, restarts: this.restarts },
      downStatuses(this.addresses, this.peerList, message, new Date()),
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.serial(() => this.start()), delay);
    this.restartTimer.unref();
  }

  private async reconfigure(birdc: string): Promise<void> {
    const r = await run(birdc, ["-s", this.sock, "configure"]);
    // "Reconfigured", or "Reconfiguration in progress" while sessions restart; anything else is a refusal.
    if (r.code !== 0 || !/Reconfigur(ed|ation in progress)/.test(r.stdout)) {
      throw new BirdConfigError(
        "ReconfigureFailed",
        "BIRD configuration",
        `birdc configure: ${firstLine(r.stdout + r.stderr)}`,
      );
    }
    this.opts.log("info", "bird reconfigured", { peers: this.addresses.size });
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.ready || !this.config) return;
    this.polling = true;
    try {
      const birdc = this.bins?.birdc;
      if (!birdc) return;
      const r = await run(birdc, ["-s", this.sock, "show", "protocols", "all"]);
      // A failed poll while BIRD is (re)starting or exiting is settled by the exit handler.
      if (r.code !== 0 || !this.ready || !this.config) return;
      const peers = peerStatuses(
        parseProtocols(r.stdout),
        this.config.protocols,
        this.addresses,
        this.peerList,
        new Date(),
      );
      this.update({ state: "Running", restarts: this.restarts }, peers);
    } finally {
      this.polling = false;
    }
  }

  private update(status: Daemon | undefined, peers: BgpPeerStatus[]): void {
    const changed = JSON.stringify([status, peers]) !== JSON.stringify([this.status, this.peerList]);
    this.status = status;
    this.peerList = peers;
    if (changed) for (const fn of this.subs) fn();
  }

  private async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    clearInterval(this.pollTimer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    this.ready = false;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // SIGTERM lets BIRD close its sessions with a Cease notification; a stuck one is killed.
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await gone;
    clearTimeout(timer);
    this.opts.log("info", "bird stopped");
  }
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: BIRDC_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stdout ? err.message : "") });
    });
  });
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith("BIRD ")) ?? "no output"
  );
}

/** waitSocket resolves true once BIRD greets on its control socket, false after timeoutMs. */
async function waitSocket(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(path);
      s.setTimeout(1000, () => (s.destroy(), resolve(false)));
      s.once("data", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
