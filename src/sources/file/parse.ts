// parse.ts: turns the text of one manifest file into objects, errors and notices, each with the
// 1-based line it came from. Pure: no file system, no clock. A file with a YAML syntax error yields
// no objects at all, so a half-written file never serves; other errors drop only their object.
import { isMap as isYamlMap, isScalar, LineCounter, parseAllDocuments } from "yaml";
import type { AnyObject, ObjectMeta } from "../../k8s/types.ts";
import { objectKey, type SourceError } from "../../k8s/resource-set.ts";
import { classifyKind, KINDS } from "./kinds.ts";
import { checkShape } from "./shape.ts";
import { fieldPath, unknownFields } from "../../k8s/fields.ts";

/** ParsedObject is one object and the line its document (or List item) starts on. */
export interface ParsedObject {
  obj: AnyObject;
  line: number;
}

/** ParseResult is everything one file contributes. */
export interface ParseResult {
  objects: ParsedObject[];
  errors: SourceError[];
  /** notices are "file:line: ..." remarks that need no action (kinds Portico does not read). */
  notices: string[];
}

type Path = (string | number)[];
type Json = Record<string, unknown>;

// DNS-1123 subdomain (object names) and label (namespaces), as the API server checks them.
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const isMap = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const present = (v: unknown): boolean => v !== undefined && v !== null && v !== "";

/** parseManifests reads every document of a YAML (or JSON) file; see the file comment for the rules. */
export function parseManifests(file: string, text: string): ParseResult {
  const out: ParseResult = { objects: [], errors: [], notices: [] };
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  const lineOf = (offset: number) => lc.linePos(offset).line;
  // An unclosed bracket is reported at end of input; point at the last written line instead.
  const lastLine = lc.linePos(text.trimEnd().length).line;
  for (const doc of docs) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      const what = e.message.split(" at line ")[0]?.split("\n")[0] ?? e.message;
      out.errors.push({
        file,
        line: Math.min(pos.line, lastLine),
        object: "",
        message: `YAML syntax error at column ${pos.col}: ${what}; fix it (nothing in this file is read until it parses)`,
      });
    }
  }
  if (out.errors.length > 0) return out;
  for (const doc of docs) {
    if (doc.contents === null) continue; // an empty document ("---" alone, or only comments)
    const line = lineOf(doc.contents.range[0]);
    for (const w of doc.warnings)
      out.notices.push(`${file}:${w.linePos?.[0].line ?? line}: YAML: ${w.message}`);
    // The line of a path, or of its nearest parent present (a missing required field).
    // With ofKey, a field's line is its key's (a block value, "matchs:" then "- ...", starts a line
    // later): unknown fields are reported so. Other errors keep the value's line.
    const at = (path: Path, ofKey = false): number => {
      for (let n = path.length; n > 0; n--) {
        const last = path[n - 1];
        if (ofKey && n === path.length && typeof last === "string") {
          const parent = doc.getIn(path.slice(0, n - 1), true);
          const pair = isYamlMap(parent)
            ? parent.items.find((i) => isScalar(i.key) && i.key.value === last)
            : undefined;
          const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
          if (range) return lineOf(range[0]);
        }
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) return lineOf(node.range[0]);
      }
      return line;
    };
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      out.errors.push({
        file,
        line,
        object: "",
        message: `cannot expand YAML aliases: ${(e as Error).message}`,
      });
      continue;
    }
    if (value === null) continue; // a document holding only comments
    take(file, value, [], at, out, false);
  }
  return out;
}

/** take checks one document (or one List item at base) and adds its object, error or notice. */
function take(
  file: string,
  value: unknown,
  base: Path,
  at: (p: Path, ofKey?: boolean) => number,
  out: ParseResult,
  inList: boolean,
) {
  const line = at(base);
  const fail = (object: string, message: string, path: Path = []) =>
    out.errors.push({ file, line: path.length > 0 ? at([...base, ...path]) : line, object, message });
  if (!isMap(value)) {
    return fail("", "a document must be a Kubernetes object (a mapping with apiVersion, kind and metadata)");
  }
  const { apiVersion, kind } = value;
  if (typeof apiVersion !== "string" || apiVersion === "") {
    return fail(
      "",
      "apiVersion is missing; every object needs apiVersion and kind (e.g. apiVersion: v1, kind: Service)",
    );
  }
  if (typeof kind !== "string" || kind === "") {
    return fail(
      "",
      "kind is missing; every object needs apiVersion and kind (e.g. apiVersion: v1, kind: Service)",
    );
  }
  if (kind === "List" || (kind.endsWith("List") && Array.isArray(value.items))) {
    if (inList) return fail("", `a ${kind} inside a List is not allowed; move its items up one level`);
    if (!Array.isArray(value.items)) return fail("", "a List needs items: a list of objects", ["items"]);
    // A typed list from the API (ServiceList) omits apiVersion and kind on its items.
    const itemKind = kind === "List" ? undefined : kind.slice(0, -4);
    value.items.forEach((item: unknown, i: number) => {
      const typed =
        itemKind && isMap(item) && item.kind === undefined ? { apiVersion, kind: itemKind, ...item } : item;
      take(file, typed, [...base, "items", i], at, out, true);
    });
    return;
  }
  const meta = isMap(value.metadata) ? value.metadata : {};
  const name = meta.name;
  const nsGiven = present(meta.namespace) ? meta.namespace : undefined;
  const match = classifyKind(apiVersion, kind);
  const shownNs =
    KINDS.get(kind)?.namespaced === false ? "" : `${typeof nsGiven === "string" ? nsGiven : "default"}/`;
  const label = `${kind}/${shownNs}${typeof name === "string" ? name : "?"}`;
  if (match.verdict === "skip") {
    out.notices.push(
      `${file}:${line}: skipping ${apiVersion} ${kind} ${label.slice(kind.length + 1)}: ${match.reason}`,
    );
    return;
  }
  if (match.verdict === "error") return fail(label, match.message, ["apiVersion"]);
  if (!isMap(value.metadata)) return fail("", `${kind} needs metadata: a mapping with at least a name`);
  if (typeof name === "number" || typeof name === "boolean") {
    return fail("", `metadata.name ${name} must be a string; quote it ("${name}")`, ["metadata", "name"]);
  }
  if (typeof name !== "string" || name === "") {
    const hint = present(meta.generateName) ? "generateName is not supported in files; " : "";
    return fail("", `${kind} has no metadata.name; ${hint}give it a name`, ["metadata"]);
  }
  if (name.length > 253 || !SUBDOMAIN.test(name)) {
    const why = "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
    return fail(`${kind}/${name}`, `metadata.name "${name}" is not a valid name; ${why}`, [
      "metadata",
      "name",
    ]);
  }
  let namespace: string | undefined;
  if (match.info.namespaced) {
    namespace = nsGiven === undefined ? "default" : String(nsGiven);
    if (namespace.length > 63 || !LABEL.test(namespace)) {
      const why = "use lowercase letters, digits and '-', at most 63 characters";
      return fail(`${kind}/${name}`, `metadata.namespace "${namespace}" is not valid; ${why}`, [
        "metadata",
        "namespace",
      ]);
    }
  } else if (nsGiven !== undefined) {
    out.notices.push(`${file}:${line}: ${kind}/${name} is cluster-scoped; its metadata.namespace is ignored`);
  }
  const metadata: ObjectMeta = { ...(meta as ObjectMeta), name };
  if (namespace === undefined) delete metadata.namespace;
  else metadata.namespace = namespace;
  const obj: AnyObject = { ...value, apiVersion, kind, metadata };
  const key = objectKey(obj);
  const problems = checkShape(kind, obj);
  for (const p of problems) fail(key, p.message, p.path);
  // Unknown fields are errors, as kubectl's strict field validation makes them: a typo must not serve
  // as if the field were absent. Paths come from value, so the line is the offending field's own.
  // Below a field of the wrong shape the shape error says it all.
  const under = (u: Path, p: Path) => p.every((x, i) => u[i] === x);
  const unknown = unknownFields(kind, value).filter((u) => !problems.some((p) => under(u.path, p.path)));
  for (const u of unknown) {
    out.errors.push({
      file,
      line: at([...base, ...u.path], true),
      object: key,
      message: unknownMessage(u.path),
    });
  }
  if (problems.length > 0 || unknown.length > 0) return;
  if (kind === "Secret") foldStringData(obj);
  out.objects.push({ obj, line });
}

/** unknownMessage says which field is unknown and what to do about it. */
const unknownMessage = (path: Path): string =>
  `unknown field "${fieldPath(path)}"; remove it or fix its spelling (Portico checks fields as kubectl's strict field validation does)`;

/** foldStringData does what the API server does on write, so both sources emit only data. */
function foldStringData(secret: AnyObject): void {
  const stringData = secret.stringData as Record<string, string> | undefined;
  if (!stringData) return;
  const data = { ...((secret.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, "utf8").toString("base64");
  secret.data = data;
  delete secret.stringData;
}

/** formatError writes a SourceError as one line: "file:line: Kind/ns/name: message". */
export function formatError(e: SourceError): string {
  const stale = e.stale ? " (the last good version of this file is still in use)" : "";
  return `${e.file}:${e.line}: ${e.object ? `${e.object}: ` : ""}${e.message}${stale}`;
}
