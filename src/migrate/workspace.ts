// workspace.ts: the manifests `portico migrate` reads (a directory, a file or stdin), the edits a
// converter makes to them, and the files that result. Edits go through the `yaml` package's
// Document (as src/sources/file/parse.ts reads manifests), so comments and key order survive in
// what is edited, and a document nobody touched is written back byte for byte.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, basename } from "node:path";
import { Document, isMap, isSeq, LineCounter, parseAllDocuments, type YAMLSeq } from "yaml";

type Json = Record<string, unknown>;
type Path = (string | number)[];

/** MigrateError is an input problem: it names the file, line and object, and says what to do. */
export class MigrateError extends Error {
  readonly code = "MIGRATE_INPUT";
}

/** InputObject is one Kubernetes object of the input (a document, or an item of a List). */
export interface InputObject {
  file: string;
  line: number;
  obj: Json;
  /** doc and at locate the object for edits: at is [] for a document, ["items", i] for a List item. */
  doc: Document.Parsed;
  at: Path;
}

/** InputFile is one file read: its name (relative to the input directory), text and documents. */
export interface InputFile {
  name: string;
  /** path is where it was read from (absent for stdin). */
  path?: string;
  text: string;
  docs: Document.Parsed[];
  /** lines maps the text's offsets to line numbers. */
  lines: LineCounter;
}

/** OutputFile is one file as the migration leaves it: after undefined means the file goes away. */
export interface OutputFile {
  name: string;
  path?: string;
  before?: string;
  after?: string;
}

type Fate = { kind: "edited" } | { kind: "replaced"; objs: Json[] };

const STRINGIFY = { flowCollectionPadding: false, lineWidth: 0 } as const;
// An edited document keeps the flow style its author used: "{ a: b }" or "{a: b}", and "[a, b]" or
// "[ a, b ]" (prettier writes "{ a: b }" with "[a, b]"; the yaml package pads both or neither).
function restyle(doc: Document.Parsed, original: string): string {
  const padMaps = /\{ \S/.test(original);
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: padMaps });
  if (!padMaps || /\[ \S/.test(original)) return text;
  return text.replace(/\[ ([^[\]\n]*?) \]/g, "[$1]");
}

/** readInputs reads each argument: a directory (its *.yaml, *.yml, *.json, recursively), a file, or "-". */
export function readInputs(args: string[], stdin: () => string): InputFile[] {
  const files: InputFile[] = [];
  for (const arg of args) {
    if (arg === "-") {
      files.push(parseFile("stdin.yaml", undefined, stdin()));
      continue;
    }
    let st;
    try {
      st = statSync(arg);
    } catch {
      throw new MigrateError(`${arg}: no such file or directory`);
    }
    if (st.isDirectory()) {
      for (const p of walk(arg)) files.push(parseFile(relative(arg, p), p, readFileSync(p, "utf8")));
    } else {
      files.push(parseFile(basename(arg), arg, readFileSync(arg, "utf8")));
    }
  }
  return files;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** parseFile parses one file's text; a YAML syntax error is a MigrateError naming file and line. */
export function parseFile(name: string, path: string | undefined, text: string): InputFile {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  for (const d of docs)
    for (const e of d.errors) {
      const line = e.linePos?.[0].line ?? lc.linePos(e.pos[0]).line;
      throw new MigrateError(
        `${name}:${line}: YAML syntax error: ${e.message.split("\n")[0]}; fix it and run again (nothing was written)`,
      );
    }
  return { name, ...(path !== undefined ? { path } : {}), text, docs, lines: lc };
}

/** Workspace holds the inputs and the edits made to them until they are rendered. */
export class Workspace {
  readonly files: InputFile[];
  readonly objects: InputObject[] = [];
  readonly #fates = new Map<Document.Parsed, Map<string, Fate>>();
  readonly #added = new Map<string, Json[]>();
  /** secrets are values a converter moved into a Secret; printed output hides them. */
  readonly secrets: string[] = [];

  constructor(files: InputFile[]) {
    this.files = files;
    for (const f of files) {
      const lineOf = (n: unknown) => {
        const r = (n as { range?: [number, number, number] } | null)?.range;
        return r ? f.lines.linePos(r[0]).line : 1;
      };
      for (const doc of f.docs) {
        const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
        if (!isObject(value)) continue;
        if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
          const itemKind = value.kind === "List" ? undefined : value.kind.slice(0, -4);
          value.items.forEach((item: unknown, i: number) => {
            if (!isObject(item)) return;
            const obj = itemKind && item.kind === undefined ? { ...item, kind: itemKind } : item;
            if (itemKind && obj.apiVersion === undefined) obj.apiVersion = value.apiVersion;
            const line = lineOf(doc.getIn(["items", i], true));
            this.objects.push({ file: f.name, line, obj, doc, at: ["items", i] });
          });
        } else {
          this.objects.push({ file: f.name, line: lineOf(doc.contents), obj: value, doc, at: [] });
        }
      }
    }
  }

  /** lineOf is the line of path inside object o (its nearest present parent's, else the object's). */
  lineOf(o: InputObject, path: Path): number {
    const f = this.files.find((x) => x.name === o.file);
    for (let n = path.length; n >= 0 && f; n--) {
      const node = o.doc.getIn([...o.at, ...path.slice(0, n)], true) as
        { range?: [number, number, number] } | undefined;
      if (node?.range) return f.lines.linePos(node.range[0]).line;
    }
    return o.line;
  }

  /** set writes value at path inside object o (comments and the rest of the document kept). */
  set(o: InputObject, path: Path, value: unknown): void {
    o.doc.setIn([...o.at, ...path], value);
    this.#mark(o, { kind: "edited" });
  }

  /** setFirst writes key = value as the first key of the mapping at path (added there when absent). */
  setFirst(o: InputObject, path: Path, key: string, value: unknown): void {
    const map = o.doc.getIn([...o.at, ...path], true);
    if (!isMap(map) || map.has(key)) return this.set(o, [...path, key], value);
    map.items.unshift(o.doc.createPair(key, value));
    this.#mark(o, { kind: "edited" });
  }

  /** delete removes path inside object o; deleting the last key of a mapping removes the mapping too. */
  delete(o: InputObject, path: Path): void {
    o.doc.deleteIn([...o.at, ...path]);
    for (let n = path.length - 1; n > 0; n--) {
      const parent = o.doc.getIn([...o.at, ...path.slice(0, n)], true);
      if (isMap(parent) && parent.items.length === 0) o.doc.deleteIn([...o.at, ...path.slice(0, n)]);
      else break;
    }
    this.#mark(o, { kind: "edited" });
  }

  /** replace puts objs where o was (none: o is removed); the first keeps o's leading comment. */
  replace(o: InputObject, objs: Json[]): void {
    this.#mark(o, { kind: "replaced", objs });
  }

  /** add appends obj to a new file name (created when the output is rendered). */
  add(name: string, obj: Json): void {
    this.#added.set(name, [...(this.#added.get(name) ?? []), obj]);
  }

  #mark(o: InputObject, fate: Fate) {
    const m = this.#fates.get(o.doc) ?? new Map<string, Fate>();
    const key = JSON.stringify(o.at);
    if (m.get(key)?.kind !== "replaced") m.set(key, fate);
    this.#fates.set(o.doc, m);
  }

  /** render returns every input file (changed or not) and every added file, as the migration leaves them. */
  render(header: string): OutputFile[] {
    const out: OutputFile[] = [];
    for (const f of this.files) {
      const changed = f.docs.some((d) => this.#fates.has(d));
      if (!changed) {
        out.push({ name: f.name, ...(f.path ? { path: f.path } : {}), before: f.text, after: f.text });
        continue;
      }
      const parts: string[] = [];
      f.docs.forEach((d, i) => {
        const from = i === 0 ? 0 : d.range[0];
        const to = i + 1 < f.docs.length ? f.docs[i + 1]!.range[0] : f.text.length;
        const original = f.text.slice(from, to);
        const fates = this.#fates.get(d);
        if (!fates) return parts.push(original);
        const text = this.#renderDoc(d, fates, original);
        if (text !== "") parts.push(text);
      });
      const after = parts.join("");
      out.push({
        name: f.name,
        ...(f.path ? { path: f.path } : {}),
        before: f.text,
        ...(after.trim() !== "" ? { after } : {}),
      });
    }
    for (const [name, objs] of this.#added) {
      out.push({ name, after: `# ${header}\n` + objs.map((o) => stringify(o)).join("---\n") });
    }
    return out;
  }

  #renderDoc(d: Document.Parsed, fates: Map<string, Fate>, original: string): string {
    const marker = original.startsWith("---");
    const whole = fates.get("[]");
    if (whole?.kind === "replaced") {
      if (whole.objs.length === 0) return "";
      // The leading comment sits on the document, its contents or its first key, by how it was written.
      const first = isMap(d.contents) ? d.contents.items[0]?.key : undefined;
      const comment =
        d.commentBefore ??
        d.contents?.commentBefore ??
        (first as { commentBefore?: string } | undefined)?.commentBefore;
      const texts = whole.objs.map((o, i) => stringify(o, i === 0 ? comment : undefined));
      return (marker ? "---\n" : "") + texts.join("---\n");
    }
    // List items: replace from the end so earlier indexes stay valid.
    const items = d.get("items", true);
    if (isSeq(items)) {
      const seq = items as YAMLSeq;
      for (let i = seq.items.length - 1; i >= 0; i--) {
        const fate = fates.get(JSON.stringify(["items", i]));
        if (fate?.kind !== "replaced") continue;
        seq.items.splice(i, 1, ...fate.objs.map((o) => d.createNode(o)));
      }
    }
    return restyle(d, original);
  }
}

/** stringify renders one object as a YAML document, with an optional leading comment. */
export function stringify(obj: Json, commentBefore?: string | null): string {
  const text = new Document(obj).toString(STRINGIFY);
  if (!commentBefore) return text;
  return (
    commentBefore
      .split("\n")
      .map((l) => `#${l}\n`)
      .join("") + text
  );
}

/** isObject: a plain mapping. */
export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** objectLabel is "Kind/ns/name" (or "Kind/name") as reports name objects. */
export function objectLabel(o: Json): string {
  const m = isObject(o.metadata) ? o.metadata : {};
  const ns = typeof m.namespace === "string" ? `${m.namespace}/` : "";
  return `${String(o.kind)}/${ns}${typeof m.name === "string" ? m.name : "?"}`;
}
