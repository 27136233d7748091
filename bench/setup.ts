// setup.ts: installs the benchmark's tools from Debian when missing. CI machines start bare,
// so the harness brings what it needs itself, once, and says what it is doing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** REQUIRED maps each file the harness runs to the Debian package that ships it. */
export const REQUIRED: readonly { file: string; pkg: string }[] = [
  { file: "/usr/sbin/haproxy", pkg: "haproxy" },
  { file: "/usr/sbin/nginx", pkg: "nginx" },
  { file: "/usr/lib/nginx/modules/ngx_stream_module.so", pkg: "libnginx-mod-stream" },
  { file: "/usr/bin/wrk", pkg: "wrk" },
  { file: "/usr/bin/h2load", pkg: "nghttp2-client" },
  { file: "/usr/bin/iperf3", pkg: "iperf3" },
  { file: "/usr/bin/rsvg-convert", pkg: "librsvg2-bin" },
  { file: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", pkg: "fonts-dejavu-core" },
  { file: "/usr/bin/taskset", pkg: "util-linux" },
  { file: "/usr/bin/openssl", pkg: "openssl" },
];

/** missingPackages lists the packages whose files (of required) are absent. */
export function missingPackages(
  exists: (f: string) => boolean = existsSync,
  required: readonly { file: string; pkg: string }[] = REQUIRED,
): string[] {
  return [...new Set(required.filter((r) => !exists(r.file)).map((r) => r.pkg))];
}

/** ensureTools runs apt-get update + install for whatever of required is missing; throws if that fails. */
export function ensureTools(
  log: (msg: string) => void,
  required: readonly { file: string; pkg: string }[] = REQUIRED,
): void {
  const missing = missingPackages(existsSync, required);
  if (missing.length === 0) {
    log("tools: all present");
    return;
  }
  log(`tools: installing ${missing.join(" ")} from Debian (apt-get update, then install) ...`);
  // DEBIAN_FRONTEND keeps debconf from asking (iperf3 asks whether to run as a daemon). Where an
  // init system runs, the packages start their default services on :80; ours use other addresses.
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...missing]]) {
    log(`tools: apt-get ${args.join(" ")}`);
    const r = spawnSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env });
    if (r.status !== 0)
      throw new Error(`apt-get ${args[0]} failed (exit ${r.status}); install ${missing.join(" ")} by hand`);
  }
  const still = missingPackages(existsSync, required);
  if (still.length > 0) throw new Error(`still missing after install: ${still.join(" ")}`);
  log("tools: installed");
}
