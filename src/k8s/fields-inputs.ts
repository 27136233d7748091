// fields-inputs.ts: loads the sources of truth for the field trees (client-node's models and the
// CRDs under deploy/crds/) and builds them. Used by scripts/gen-gateway-types.ts, which writes
// fields-trees.ts, and by fields-trees.test.ts, which checks that file is current. Never imported
// at run time: loading every client-node model takes half a second.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import * as k8s from "@kubernetes/client-node";
import { KINDS } from "../sources/file/kinds.ts";
import { buildFieldTrees, type Attribute, type Crd, type FieldTrees } from "./fields-build.ts";

/** CORE_GROUPS are the Kubernetes API groups whose kinds client-node models as V1<Kind>. */
const CORE_GROUPS = new Set(["", "networking.k8s.io", "discovery.k8s.io"]);

/** loadFieldTrees builds the field trees from client-node and root/deploy/crds. */
export function loadFieldTrees(root: string): FieldTrees {
  const models = k8s as unknown as Record<string, { attributeTypeMap?: readonly Attribute[] } | undefined>;
  const lookup = (name: string) => models[name]?.attributeTypeMap;
  const core = [...KINDS].filter(([, info]) => CORE_GROUPS.has(info.group)).map(([kind]) => kind);
  const paths = [
    ...readdirSync(join(root, "deploy/crds/gateway-api"))
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => join(root, "deploy/crds/gateway-api", f)),
    join(root, "deploy/crds/portico.dev_vippools.yaml"),
    join(root, "deploy/crds/portico.dev_enginegroups.yaml"),
    join(root, "deploy/crds/portico.dev_dnszones.yaml"),
    join(root, "deploy/crds/portico.dev_wafpolicies.yaml"),
    join(root, "deploy/crds/portico.dev_accesspolicies.yaml"),
    join(root, "deploy/crds/portico.dev_certificateissuers.yaml"),
    join(root, "deploy/crds/portico.dev_tenants.yaml"),
  ];
  const crds: Crd[] = [];
  for (const p of paths) {
    for (const doc of parseAllDocuments(readFileSync(p, "utf8"))) {
      const j = doc.toJS() as (Crd & { kind?: string }) | null;
      if (j?.kind === "CustomResourceDefinition" && KINDS.has(j.spec.names.kind)) crds.push(j);
    }
  }
  const trees = buildFieldTrees(core, lookup, crds);
  const missing = [...KINDS.keys()].filter((k) => !trees.kinds[k]);
  if (missing.length > 0) throw new Error(`no schema for ${missing.join(", ")}`);
  return trees;
}
