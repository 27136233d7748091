// pod.ts: one Pod on the node, from its network namespace to its removal. start() gives it a
// namespace and pod IP, writes its volumes, resolves each container's image, command and
// environment, runs init containers one by one and then the containers; a missing Secret or key
// is retried every 2 s (CreateContainerConfigError meanwhile), an image missing from the map is
// reported once (ImageNotMapped: the map does not change while the agent runs). terminate() stops
// the processes (SIGTERM, grace, SIGKILL) and removes everything the Pod had on the host.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, containerEnv, expand, type DataSource } from "./container-env.ts";
import { ContainerRunner, now, waitingStatus, type ContainerSpec } from "./container.ts";
import { argvFor, lookupImage, type ImageMap } from "./images.ts";
import { removePod, type NodeNet, type PodNet } from "./net.ts";
import { podStatus } from "./status.ts";
import type { Container, Pod } from "./types.ts";
import { acquireMountPoints, bindsFor, releaseMountPoints, writeVolumes } from "./volumes.ts";

/** PodContext is what a runner needs from its agent. */
export interface PodContext {
  net: NodeNet;
  nodeName: string;
  stateDir: string;
  images: ImageMap;
  imageSource: string;
  read: (namespace: string) => DataSource;
  /** changed tells the agent that status() may differ from what was last written. */
  changed: (runner: PodRunner) => void;
  log: (msg: string) => void;
}

/** PodRunner runs one Pod's containers. */
export class PodRunner {
  pod: Pod;
  readonly #ctx: PodContext;
  readonly #dir: string;
  readonly #startTime = now();
  #net: PodNet | undefined;
  #createdDirs: string[] = [];
  #init: ContainerRunner[] = [];
  #main: ContainerRunner[] = [];
  #waiting = new Map<string, Record<string, unknown>>();
  #initialized = false;
  #initFailed = false;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(ctx: PodContext, pod: Pod) {
    this.#ctx = ctx;
    this.pod = pod;
    this.#dir = join(
      ctx.stateDir,
      `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid.slice(0, 8)}`,
    );
  }

  /** netns is the Pod's network namespace name, once it has one. */
  get netns(): string | undefined {
    return this.#net?.netns;
  }

  /** start sets the Pod up and runs it; errors end up in status, never as a rejection. */
  async start(): Promise<void> {
    try {
      mkdirSync(this.#dir, { recursive: true });
      const net = await this.#ctx.net.addPod();
      // terminate() may have run while the namespace was being made: it could not remove it.
      if (this.#stopped) return void (await removePod(net));
      this.#net = net;
      this.#ctx.changed(this);
      await this.#run();
    } catch (e) {
      this.#ctx.log(`pod ${this.#key()}: ${String(e)}`);
      for (const c of this.pod.spec.containers)
        this.#waiting.set(c.name, waitingStatus(c, "RunContainerError", String(e)));
      this.#ctx.changed(this);
    }
  }

  async #run(): Promise<void> {
    const all = [...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers];
    const unmapped = all.filter((c) => !lookupImage(this.#ctx.images, c.image));
    if (unmapped.length > 0) {
      for (const c of unmapped)
        this.#waiting.set(
          c.name,
          waitingStatus(
            c,
            "ImageNotMapped",
            `image "${c.image}" is not in the node agent's image map (${this.#ctx.imageSource}); add it with the local binary that stands in for it`,
          ),
        );
      return;
    }
    let specs: ContainerSpec[];
    try {
      specs = await this.#specs(all);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const c of all)
        this.#waiting.set(c.name, waitingStatus(c, "CreateContainerConfigError", e.message));
      this.#ctx.changed(this);
      this.#retry = setTimeout(
        () => void this.#run().catch((err: unknown) => this.#ctx.log(`pod ${this.#key()}: ${String(err)}`)),
        2_000,
      );
      return;
    }
    this.#waiting.clear();
    const nInit = this.pod.spec.initContainers?.length ?? 0;
    const policy = this.pod.spec.restartPolicy ?? "Always";
    for (const spec of specs.slice(0, nInit)) {
      const r = new ContainerRunner({ ...spec, restart: policy === "Never" ? "Never" : "OnFailure" }, () =>
        this.#ctx.changed(this),
      );
      this.#init.push(r);
      r.start();
      const code = await r.finished;
      if (this.#stopped) return;
      if (code !== 0) {
        this.#initFailed = true;
        this.#ctx.changed(this);
        return;
      }
    }
    this.#initialized = true;
    for (const spec of specs.slice(nInit)) {
      const r = new ContainerRunner({ ...spec, restart: policy }, () => this.#ctx.changed(this));
      this.#main.push(r);
      r.start();
    }
    this.#ctx.changed(this);
  }

  async #specs(containers: Container[]): Promise<ContainerSpec[]> {
    const net = this.#net!;
    const read = this.#ctx.read(this.pod.metadata.namespace);
    const volumes = await writeVolumes(this.pod, join(this.#dir, "volumes"), read);
    const facts = { podIP: net.ip, hostIP: this.#ctx.net.hostIp, nodeName: this.#ctx.nodeName };
    const specs: ContainerSpec[] = [];
    const dirs: string[] = [];
    try {
      for (const c of containers) {
        const env = await containerEnv(this.pod, c, facts, read);
        const argv = argvFor(lookupImage(this.#ctx.images, c.image)!, c.command, c.args).map((a) =>
          expand(a, env),
        );
        if (argv.length === 0)
          throw new ConfigError(
            `container ${c.name}: no command, and the image map gives "${c.image}" no entrypoint`,
          );
        const binds = bindsFor(c, volumes);
        dirs.push(...acquireMountPoints(binds));
        specs.push({
          container: c,
          argv,
          env,
          binds,
          netns: net.netns,
          podIP: net.ip,
          workDir: this.#dir,
          logFile: join(this.#dir, `${c.name}.log`),
          restart: "Always",
        });
      }
    } catch (e) {
      releaseMountPoints(dirs);
      throw e;
    }
    this.#createdDirs = dirs;
    return specs;
  }

  /** status is the Pod's status for the status subresource. */
  status(): Record<string, unknown> {
    const of = (cs: Container[], runners: ContainerRunner[]) =>
      cs.map(
        (c) =>
          this.#waiting.get(c.name) ??
          runners.find((r) => r.spec.container.name === c.name)?.status() ??
          waitingStatus(c, this.#net ? "PodInitializing" : "ContainerCreating", ""),
      );
    return podStatus(
      {
        ...(this.#net ? { podIP: this.#net.ip } : {}),
        hostIP: this.#ctx.net.hostIp,
        startTime: this.#startTime,
        initialized: this.#initialized || (this.pod.spec.initContainers?.length ?? 0) === 0,
        initFailed: this.#initFailed,
        initStatuses: of(this.pod.spec.initContainers ?? [], this.#init),
        statuses: of(this.pod.spec.containers, this.#main),
      },
      this.pod.status,
      now(),
    );
  }

  /** pids are the running container processes (tests check that none is left). */
  pids(): number[] {
    return [...this.#init, ...this.#main].map((r) => r.pid).filter((p): p is number => p !== undefined);
  }

  /** terminate stops every container (SIGTERM, then SIGKILL after graceMs) and removes the
   * namespace, veth, state directory and mount points it created. */
  async terminate(graceMs: number): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await Promise.all([...this.#init, ...this.#main].map((r) => r.stop(graceMs)));
    if (this.#net) await removePod(this.#net);
    releaseMountPoints(this.#createdDirs);
    this.#createdDirs = [];
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }
}
