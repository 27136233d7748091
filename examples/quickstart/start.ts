// start.ts: `npm start` — the quickstart. Starts the demo backends, then `portico run` on this
// folder with Ingress ports 8080/8443 (no root needed) and state in .portico/quickstart.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { startBackends } from "./backends.ts";

const here = import.meta.dirname;
const root = join(here, "..", "..");
const stop = await startBackends();
process.stderr.write("quickstart: demo backends listening on 127.0.0.1:18081-18084\n");
// bin/portico, as a user runs it: the JS build of src/ (built on first use).
const portico = spawn(
  "sh",
  [
    join(root, "bin/portico"),
    "run",
    here,
    "--http-port=8080",
    "--https-port=8443",
    `--state-dir=${join(root, ".portico", "quickstart")}`,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit", cwd: dirname(here) },
);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => portico.kill(sig));
portico.on("exit", (code) => {
  stop();
  process.exit(code ?? 0);
});
