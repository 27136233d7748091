// migrate-cluster.ts: `portico migrate ... --kubeconfig F` reads what to convert from a cluster
// instead of files: one listing per kind, written as the files `cluster/<resource>.yaml` the
// converters read (server-set fields dropped, as `kubectl get -o yaml` users strip them). Nothing
// is ever written to the cluster: the output is a diff, or files under --out to review and apply.
import { stringify } from "../migrate/workspace.ts";
import { parseFile, type InputFile } from "../migrate/workspace.ts";
import { KubeApiError, type KubeClient } from "../sources/kube/client.ts";

/** RESOURCES are the API paths each migration lists (a missing API — MetalLB not installed — is skipped). */
export const RESOURCES: Record<string, string[]> = {
  metallb: [
    "/apis/metallb.io/v1beta1/ipaddresspools",
    "/apis/metallb.io/v1beta1/l2advertisements",
    "/apis/metallb.io/v1beta1/bgpadvertisements",
    "/apis/metallb.io/v1beta1/communities",
    "/apis/metallb.io/v1beta1/bfdprofiles",
    "/apis/metallb.io/v1beta2/bgppeers",
    "/apis/portico.dev/v1alpha1/enginegroups",
  ],
  "ingress-nginx": [
    "/apis/networking.k8s.io/v1/ingressclasses",
    "/apis/networking.k8s.io/v1/ingresses",
    "/api/v1/configmaps?fieldSelector=metadata.name%3Dingress-nginx-controller",
  ],
};

type Json = Record<string, unknown>;

// Fields the API server sets: they would make every object look changed and cannot be applied back.
const SERVER_META = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "managedFields",
  "selfLink",
];

/** clusterInputs lists the resources of one migration; each becomes a file named after its resource. */
export async function clusterInputs(client: KubeClient, from: string): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of RESOURCES[from] ?? []) {
    let list: { apiVersion?: string; kind?: string; items?: Json[] };
    try {
      list = await listOnce(client, path);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) continue;
      throw err;
    }
    const [apiVersion, kind] = [String(list.apiVersion ?? ""), String(list.kind ?? "").replace(/List$/, "")];
    const items = (list.items ?? []).map((item) => clean({ apiVersion, kind, ...item }));
    if (items.length === 0) continue;
    const resource = path.split("?")[0]!.split("/").pop()!;
    const text = items.map((o) => stringify(o)).join("---\n");
    files.push(parseFile(`cluster/${resource}.yaml`, undefined, text));
  }
  return files;
}

// listOnce GETs a list; the API server answers 429 while a freshly created CRD's storage starts
// ("storage is (re)initializing"), so that is retried for up to ~5 s before it counts.
async function listOnce(client: KubeClient, path: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.request<{ apiVersion?: string; kind?: string; items?: Json[] }>("GET", path);
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.status !== 429 || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function clean(o: Json): Json {
  const meta = { ...(o.metadata as Json) };
  for (const k of SERVER_META) delete meta[k];
  const ann = meta.annotations as Record<string, string> | undefined;
  if (ann?.["kubectl.kubernetes.io/last-applied-configuration"] !== undefined) {
    const rest = { ...ann };
    delete rest["kubectl.kubernetes.io/last-applied-configuration"];
    if (Object.keys(rest).length > 0) meta.annotations = rest;
    else delete meta.annotations;
  }
  const out: Json = { ...o, metadata: meta };
  delete out.status;
  return out;
}
