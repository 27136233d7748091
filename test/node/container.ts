// container.ts: one container as a local process. It runs in the Pod's network namespace (`ip
// netns exec`, which also gives it a private mount namespace: its bind mounts never reach the
// host), under `setpriv --pdeathsig KILL` so that it dies with the agent even when the agent is
// killed without cleanup. Exits are restarted per restartPolicy with a back-off of 1 s doubling to
// 10 s (a kubelet's is 10 s to 5 min; tests should not wait that long), and a readiness probe
// decides `ready` (no probe: ready once started).
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { constants } from "node:os";
import { probeOnce } from "./probe.ts";
import type { Container } from "./types.ts";
import type { Bind } from "./volumes.ts";

/** now is a metav1.Time. */
export const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** ContainerSpec is everything needed to run one container. */
export interface ContainerSpec {
  container: Container;
  argv: string[];
  env: Record<string, string>;
  binds: Bind[];
  netns: string;
  podIP: string;
  workDir: string;
  logFile: string;
  restart: "Always" | "OnFailure" | "Never";
}

type State = Record<string, Record<string, unknown>>;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** ContainerRunner runs, restarts, probes and stops one container; onChange fires on any change
 * of what status() returns. */
export class ContainerRunner {
  readonly spec: ContainerSpec;
  /** finished resolves with the exit code once the container exited and will not be restarted. */
  readonly finished: Promise<number>;
  #finish!: (code: number) => void;
  #onChange: () => void;
  #proc: ChildProcess | undefined;
  #state: State = { waiting: { reason: "ContainerCreating" } };
  #lastState: State = {};
  #restarts = 0;
  #ready = false;
  #stopping = false;
  #timers = new Set<NodeJS.Timeout>();

  constructor(spec: ContainerSpec, onChange: () => void) {
    this.spec = spec;
    this.#onChange = onChange;
    this.finished = new Promise((ok) => (this.#finish = ok));
  }

  /** pid is the running process's id, if any. */
  get pid(): number | undefined {
    return this.#proc?.exitCode === null ? this.#proc.pid : undefined;
  }

  /** start launches the process (again, after a restart). */
  start(): void {
    if (this.#stopping) return;
    const { spec } = this;
    const mounts = spec.binds.flatMap((b) => [
      `mount --bind ${q(b.src)} ${q(b.dst)}`,
      ...(b.readOnly ? [`mount -o remount,bind,ro ${q(b.dst)}`] : []),
    ]);
    const script = [...mounts, `cd ${q(spec.workDir)}`, 'exec "$@"'].join(" && ");
    const log = openSync(spec.logFile, "a");
    const proc = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "KILL",
        "--",
        "ip",
        "netns",
        "exec",
        spec.netns,
        "sh",
        "-c",
        script,
        "sh",
        ...spec.argv,
      ],
      { env: spec.env, stdio: ["ignore", log, log] },
    );
    closeSync(log);
    this.#proc = proc;
    const startedAt = now();
    this.#state = { running: { startedAt } };
    this.#setReady(!spec.container.readinessProbe);
    this.#onChange();
    proc.on("error", () => undefined); // reported through "exit"
    proc.once("exit", (code, signal) => this.#exited(proc, code ?? 128 + signalNumber(signal), startedAt));
    if (spec.container.readinessProbe) this.#probe(proc);
  }

  #exited(proc: ChildProcess, code: number, startedAt: string): void {
    if (proc !== this.#proc) return;
    this.#setReady(false);
    const terminated = {
      exitCode: code,
      reason: code === 0 ? "Completed" : "Error",
      startedAt,
      finishedAt: now(),
    };
    const again =
      !this.#stopping &&
      (this.spec.restart === "Always" || (this.spec.restart === "OnFailure" && code !== 0));
    if (!again) {
      this.#state = { terminated };
      this.#onChange();
      this.#finish(code);
      return;
    }
    this.#lastState = { terminated };
    const delay = Math.min(10_000, 1_000 * 2 ** this.#restarts);
    this.#state = {
      waiting: {
        reason: "CrashLoopBackOff",
        message: `back-off ${delay / 1000}s restarting failed container ${this.spec.container.name}`,
      },
    };
    this.#onChange();
    this.#after(delay, () => {
      this.#restarts++;
      this.start();
    });
  }

  #probe(proc: ChildProcess): void {
    const p = this.spec.container.readinessProbe!;
    let ok = 0;
    let failed = 0;
    const tick = async () => {
      if (this.#proc !== proc || proc.exitCode !== null || this.#stopping) return;
      const pass = await probeOnce(
        p,
        this.spec.container,
        this.spec.podIP,
        this.spec.netns,
        this.spec.env,
      ).catch(() => false);
      if (this.#proc !== proc) return;
      [ok, failed] = pass ? [ok + 1, 0] : [0, failed + 1];
      if (pass && ok >= (p.successThreshold ?? 1)) this.#setReady(true);
      if (!pass && failed >= (p.failureThreshold ?? 3)) this.#setReady(false);
      this.#after((p.periodSeconds ?? 10) * 1000, tick);
    };
    this.#after((p.initialDelaySeconds ?? 0) * 1000, tick);
  }

  #setReady(ready: boolean): void {
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.#onChange();
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /** stop sends SIGTERM, then SIGKILL after graceMs, and resolves when the process is gone. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const proc = this.#proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((done) => {
        const kill = setTimeout(() => proc.kill("SIGKILL"), graceMs);
        proc.once("exit", () => {
          clearTimeout(kill);
          done();
        });
        proc.kill("SIGTERM");
      });
    }
    this.#finish(-1);
  }

  /** status is this container's core/v1 ContainerStatus. */
  status(): Record<string, unknown> {
    const c = this.spec.container;
    return {
      name: c.name,
      image: c.image,
      imageID: `portico-node://${this.spec.argv[0] ?? ""}`,
      ...(this.#proc?.pid ? { containerID: `portico-node://${this.#proc.pid}` } : {}),
      ready: this.#ready,
      started: "running" in this.#state,
      restartCount: this.#restarts,
      state: this.#state,
      lastState: this.#lastState,
    };
  }
}

/** waitingStatus is the ContainerStatus of a container that cannot start (reason says why). */
export function waitingStatus(c: Container, reason: string, message: string): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    imageID: "",
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: { reason, message } },
    lastState: {},
  };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
