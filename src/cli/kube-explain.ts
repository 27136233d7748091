// kube-explain.ts: `portico explain` — with --kubeconfig it reads the cluster once and explains
// from there (allocations taken from status, as the controller takes them); without it, the
// offline command on directories of manifests runs unchanged.
import { parseArgs } from "node:util";
import { CliError } from "./args.ts";
import { loadKubeConfig } from "./controller.ts";
import { explainIngress, explainService } from "./explain.ts";
import { explainMain } from "./offline.ts";
import { buildSnapshot } from "../controller/pipeline.ts";
import { recoverAllocations } from "../controller/kube-recover.ts";
import { KubeClient } from "../sources/kube/client.ts";
import { listOnce } from "../sources/kube/list.ts";

/** main explains against the cluster when --kubeconfig is given, else offline. */
export async function main(argv: string[]): Promise<number> {
  if (!argv.some((a) => a === "--kubeconfig" || a.startsWith("--kubeconfig="))) return explainMain(argv);
  let v;
  try {
    v = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        kubeconfig: { type: "string" },
        namespaces: { type: "string" },
        "no-classless": { type: "boolean", default: false },
        "http-port": { type: "string", default: "80" },
        "https-port": { type: "string", default: "443" },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'portico help' for usage.`);
  }
  const m = /^(service|svc|ingress|ing)\/([^/]+)\/([^/]+)$/i.exec(v.positionals[0] ?? "");
  if (!m || v.positionals.length !== 1)
    throw new CliError("explain --kubeconfig F wants one service/NAMESPACE/NAME or ingress/NAMESPACE/NAME");
  const client = await KubeClient.fromConfig(loadKubeConfig(v.values.kubeconfig));
  try {
    const namespaces = (v.values.namespaces ?? "").split(",").filter((s) => s !== "");
    const set = await listOnce(client, namespaces);
    const opts = {
      serveClasslessServices: !v.values["no-classless"],
      ingressHttpPort: Number(v.values["http-port"]),
      ingressHttpsPort: Number(v.values["https-port"]),
    };
    const out = buildSnapshot(set, opts, recoverAllocations(set, opts), 1);
    const [, kind, ns, name] = m;
    const text = kind!.toLowerCase().startsWith("s")
      ? explainService(set, out, ns!, name!)
      : explainIngress(set, out, ns!, name!);
    process.stdout.write(text.replace("is not in the manifests", "is not in the cluster"));
    for (const n of set.notices ?? []) process.stdout.write(`notice: ${n}\n`);
    return 0;
  } finally {
    client.close();
  }
}
