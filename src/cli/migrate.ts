// migrate.ts: `portico migrate metallb|ingress-nginx [DIR|FILE|-]...` — convert another product's
// manifests to Portico's. A dry run (the default) prints a unified diff on stdout (new files as
// additions to /dev/null, so it applies with `patch -p1`) and the report on stderr; --write writes
// the files in place, or every file to --out DIR. Exit 1 when an object could not be converted.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { CliError } from "./args.ts";
import { unifiedDiff } from "../migrate/diff.ts";
import { migrateIngressNginx } from "../migrate/ingress-nginx.ts";
import { migrateMetallb } from "../migrate/metallb.ts";
import { Report } from "../migrate/report.ts";
import { MigrateError, readInputs, Workspace, type OutputFile } from "../migrate/workspace.ts";

const FROM = {
  metallb: (ws: Workspace, r: Report, engineGroup?: string) =>
    migrateMetallb(ws, r, engineGroup !== undefined ? { engineGroup } : {}),
  "ingress-nginx": (ws: Workspace, r: Report) => migrateIngressNginx(ws, r),
} as const;

/** main runs `portico migrate`. */
export async function main(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        write: { type: "boolean", default: false },
        out: { type: "string" },
        "engine-group": { type: "string" },
        kubeconfig: { type: "string" },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  const [from, ...inputs] = v.positionals;
  const convert = FROM[from as keyof typeof FROM];
  if (!convert) throw new CliError(`migrate from what? one of: ${Object.keys(FROM).join(", ")}`);
  if (v.values.out !== undefined && !v.values.write)
    throw new CliError("--out DIR goes with --write (without it, portico migrate only prints the diff)");
  const fromCluster = v.values.kubeconfig !== undefined;
  if (inputs.length === 0 && !fromCluster)
    throw new CliError(
      `portico migrate ${from} DIR|FILE|- : name the manifests to convert (or --kubeconfig F)`,
    );
  if (fromCluster && inputs.length > 0)
    throw new CliError("portico migrate reads either files or a cluster (--kubeconfig), not both");
  // Nothing is written to a cluster: its conversion is reviewed, then applied by the user.
  if (fromCluster && v.values.write && v.values.out === undefined)
    throw new CliError(
      "with --kubeconfig, --write needs --out DIR (portico migrate never writes to the cluster)",
    );
  if (v.values["engine-group"] !== undefined && from !== "metallb")
    throw new CliError("--engine-group is for portico migrate metallb");
  let ws: Workspace;
  try {
    ws = new Workspace(
      fromCluster
        ? await fromKube(v.values.kubeconfig!, from!)
        : readInputs(inputs, () => readFileSync(0, "utf8")),
    );
  } catch (err) {
    if (err instanceof MigrateError) throw new CliError(err.message, 1);
    throw err;
  }
  const report = new Report();
  convert(ws, report, v.values["engine-group"]);
  const files = ws.render(`written by portico migrate ${from}`);
  if (v.values.write) write(files, inputs, v.values.out);
  else process.stdout.write(redact(files.map(diffOf).join(""), ws.secrets));
  process.stderr.write(report.text());
  if (!v.values.write && files.some((f) => f.before !== f.after))
    process.stderr.write(
      "dry run: nothing written; --write writes the files in place, --out DIR elsewhere\n",
    );
  return report.count("error") > 0 ? 1 : 0;
}

function diffOf(f: OutputFile): string {
  return unifiedDiff(
    f.before === undefined ? "/dev/null" : `a/${f.name}`,
    f.after === undefined ? "/dev/null" : `b/${f.name}`,
    f.before ?? "",
    f.after ?? "",
  );
}

// redact hides secret values (a BGP password moved into a Secret) in what is printed.
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("<redacted: written only with --write>");
  return out;
}

function write(files: OutputFile[], inputs: string[], out: string | undefined) {
  if (out === undefined && inputs.includes("-")) {
    // Converted stdin goes to stdout: there is no file to write it back to.
    process.stdout.write(
      files
        .filter((f) => f.after !== undefined)
        .map((f) => f.after)
        .join("---\n"),
    );
    return;
  }
  const dirInput = inputs.find((i) => i !== "-" && statSync(i).isDirectory());
  const base = out ?? dirInput ?? dirname(inputs[0]!);
  for (const f of files) {
    const target = out !== undefined || f.path === undefined ? join(base, f.name) : f.path;
    if (f.after === undefined) {
      if (out === undefined) rmSync(target, { force: true });
      continue;
    }
    if (out === undefined && f.before === f.after) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.after);
  }
}

// fromKube lists the migration's resources from the cluster (the client is loaded only here).
async function fromKube(kubeconfig: string, from: string) {
  const { loadKubeConfig } = await import("./controller.ts");
  const { KubeClient } = await import("../sources/kube/client.ts");
  const { clusterInputs } = await import("./migrate-cluster.ts");
  const client = await KubeClient.fromConfig(loadKubeConfig(kubeconfig === "" ? undefined : kubeconfig));
  try {
    return await clusterInputs(client, from);
  } catch (err) {
    // The API's answer is the user's to act on (RBAC, a wrong server): one line, no stack.
    throw new CliError(`reading the cluster: ${(err as Error).message}`, 1);
  } finally {
    client.close();
  }
}
