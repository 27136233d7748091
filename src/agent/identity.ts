// identity.ts: who this engine is and what it may use — the EngineIdentity of its Hello. In a
// container the CPU and memory it may use are the cgroup's limits, not the machine's: sizing
// (`portico size`) divides by them, so a pod of 1 vCPU on a 64-core node must say 1.
import { readFileSync } from "node:fs";
import { availableParallelism, hostname, totalmem } from "node:os";
import type { EngineIdentity } from "../link/protocol.ts";

/** cpuFromCgroup reads "QUOTA PERIOD" (v2 cpu.max; "max" or v1's -1: unlimited): CPUs, or undefined. */
export function cpuFromCgroup(text: string | undefined): number | undefined {
  const m = /^(\d+)\s+(\d+)/.exec(text?.trim() ?? "");
  if (!m || Number(m[2]) === 0) return undefined;
  return Math.round((Number(m[1]) / Number(m[2])) * 100) / 100;
}

/** memoryFromCgroup reads cgroup v2 memory.max ("max" or bytes): bytes, or undefined when unlimited. */
export function memoryFromCgroup(text: string | undefined): number | undefined {
  const t = text?.trim() ?? "";
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** cgroupFile reads one file of this process's cgroup: v2 (controller "") or the v1 hierarchy
 * of controller ("cpu", "memory"); undefined when there is none. */
export function cgroupFile(controller: string, name: string, root = "/sys/fs/cgroup"): string | undefined {
  // "0::/path" (v2) or "4:memory:/path" (v1) names our cgroup; in a container's namespace it is "/".
  const line = readOptional("/proc/self/cgroup")
    ?.split("\n")
    .find(
      (l) => l.split(":")[1]?.split(",").includes(controller) || (controller === "" && l.startsWith("0::")),
    );
  const self = line?.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
  const base = controller === "" ? root : `${root}/${controller}`;
  for (const dir of [self && self !== "/" ? base + self : undefined, base])
    if (dir !== undefined) {
      const text = readOptional(`${dir}/${name}`);
      if (text !== undefined) return text;
    }
  return undefined;
}

/** cgroupCpus is the CPU quota of this process's cgroup (v2 cpu.max, else v1 cfs quota/period). */
export function cgroupCpus(): number | undefined {
  const v2 = cpuFromCgroup(cgroupFile("", "cpu.max"));
  if (v2 !== undefined) return v2;
  const quota = cgroupFile("cpu", "cpu.cfs_quota_us")?.trim();
  const period = cgroupFile("cpu", "cpu.cfs_period_us")?.trim();
  return quota && period ? cpuFromCgroup(`${quota} ${period}`) : undefined;
}

/** cgroupMemory is the memory limit of this process's cgroup (v2 memory.max, else v1 limit_in_bytes). */
export function cgroupMemory(): number | undefined {
  const limit = memoryFromCgroup(
    cgroupFile("", "memory.max") ?? cgroupFile("memory", "memory.limit_in_bytes"),
  );
  // cgroup v1 says "no limit" with a number near 2^63; above the machine's memory it means none.
  return limit !== undefined && limit < totalmem() ? limit : undefined;
}

/** readOptional reads a file that may be absent (another cgroup version, another platform). */
export function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** IdentityFlags are the command line's say in the identity; the environment fills the rest. */
export interface IdentityFlags {
  name?: string;
  group: string;
  node?: string;
  zone?: string;
  version: string;
  limits: EngineIdentity["limits"];
}

/** engineIdentity builds the Hello's identity: flags, then $POD_NAME/$NODE_NAME, then the hostname. */
export function engineIdentity(f: IdentityFlags, env: NodeJS.ProcessEnv = process.env): EngineIdentity {
  const host = hostname();
  return {
    name: f.name ?? env.POD_NAME ?? host,
    group: f.group,
    node: f.node ?? env.NODE_NAME ?? host,
    ...(f.zone !== undefined ? { zone: f.zone } : {}),
    version: f.version,
    pid: process.pid,
    vcpu: cgroupCpus() ?? availableParallelism(),
    memoryBytes: cgroupMemory() ?? totalmem(),
    limits: f.limits,
  };
}
