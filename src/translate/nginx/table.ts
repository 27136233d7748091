// table.ts: docs/migration-annotations.md as text, from the registry. The doc is generated
// (scripts/gen-annotation-table.ts) and test/docs/annotation-table.test.ts compares its rows with the registry, so the table
// users read cannot drift from what Portico does.
import { KNOWN_ANNOTATIONS, KNOWN_PREFIXES, type KnownAnnotation } from "./registry.ts";

/** PRODUCTS names the product behind each prefix, for the section headings. */
const PRODUCTS: Record<(typeof KNOWN_PREFIXES)[number], string> = {
  "nginx.ingress.kubernetes.io/": "ingress-nginx",
  "metallb.io/": "MetalLB",
  "metallb.universe.tf/": "MetalLB (older prefix)",
  "kube-vip.io/": "kube-vip",
  "ako.vmware.com/": "AKO (Avi Kubernetes Operator)",
  "projectcontour.io/": "Contour",
  "traefik.ingress.kubernetes.io/": "Traefik",
};

/** TableRow is one row as the doc shows it. */
export interface TableRow {
  name: string;
  status: string;
  access: string;
  note: string;
}

/** tableRow renders one registry entry (the note's pipes escaped for Markdown). */
export function tableRow(a: KnownAnnotation): TableRow {
  return {
    name: `\`${a.name}\``,
    status: a.status,
    access: a.access ? "yes" : "",
    note: a.note.replace(/\|/g, "\\|"),
  };
}

const INTRO = `# Annotations of other products

<!-- Generated from src/translate/nginx/registry.ts by scripts/gen-annotation-table.ts; do not edit by hand. -->

Portico reads the annotations of the products clusters migrate from. Every annotation in these
prefixes is in the table below with what Portico does with it:

- **implemented**: honoured as the product documents it.
- **accepted**: read, with nothing to do in Portico (the note says why).
- **refused**: not honoured by design; the note says what to use instead.
- **unimplemented**: not honoured yet.

Nothing here is ignored silently (docs/annotations.md, "Never silent"): an annotation that is not
implemented or accepted — or a name in these prefixes that is not in the table, a typo most likely —
is listed on the object (\`portico.dev/Accepted\` with reason \`AnnotationNotHonoured\`; on Gateway
API objects \`portico.dev/AnnotationsHonoured=False\`), in a notice (\`portico validate\`, with the
file and line) and in \`portico explain\`. An annotation marked **access** grants or restricts
access: when Portico does not honour it, every route of the Ingress answers 403 naming it
(\`Accepted=False\`, reason \`AccessAnnotationNotHonoured\`) instead of serving more than was asked.
`;

/** renderTable is the whole doc: the introduction, then one table per prefix. */
export function renderTable(): string {
  const parts = [INTRO];
  for (const prefix of KNOWN_PREFIXES) {
    const entries = KNOWN_ANNOTATIONS.filter((a) => a.name.startsWith(prefix));
    parts.push(`\n## ${PRODUCTS[prefix]}: \`${prefix}\`\n\n`);
    parts.push("| annotation | status | access | note |\n| --- | --- | --- | --- |\n");
    for (const e of entries) {
      const r = tableRow(e);
      parts.push(`| ${r.name} | ${r.status} | ${r.access} | ${r.note} |\n`);
    }
  }
  return parts.join("");
}

/** parseTableRows reads the rows back from the doc (any column padding), for the drift test. */
export function parseTableRows(doc: string): TableRow[] {
  const rows: TableRow[] = [];
  for (const line of doc.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    rows.push({ name: cells[0]!, status: cells[1]!, access: cells[2]!, note: cells[3]! });
  }
  return rows;
}
