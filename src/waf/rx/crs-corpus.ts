// crs-corpus.ts: the CRS patterns for the rx tests. Finds the rule set fetched by
// scripts/crs/fetch.sh (fetching it when Go is there) and pulls out every @rx argument with its
// rule id. Just enough SecLang for that (continuation lines, quoting, id:, chain); the real
// parser is src/waf/lang/.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { hasByte } from "./bytes.ts";
import type { Node } from "./parse.ts";

const root = resolve(import.meta.dirname, "../../..");

/** CrsPattern is one @rx operator of the CRS. */
export interface CrsPattern {
  /** id: the rule id (a chained rule's is its chain head's, suffixed "/chain N"). */
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly pattern: string;
}

/** crsRules returns the CRS rules directory, fetching it if needed; a string says why it is absent. */
export function crsRules(): { dir: string; version: string } | { skip: string } {
  const current = join(root, ".cache/crs/current");
  if (!existsSync(join(current, "rules"))) {
    const r = spawnSync("bash", [join(root, "scripts/crs/fetch.sh")], { encoding: "utf8", timeout: 300_000 });
    if (!existsSync(join(current, "rules")))
      return {
        skip: `the OWASP CRS is not in .cache/crs and scripts/crs/fetch.sh could not fetch it (exit ${r.status}: ${(r.stderr ?? "").trim().split("\n").pop()})`,
      };
  }
  const version = /^crs (.*)$/m.exec(readFileSync(join(current, "VERSION"), "utf8"))?.[1] ?? "unknown";
  return { dir: join(current, "rules"), version };
}

/** crsFiles is CRS's load order for a rules directory: crs-setup first, then the rule files in name order. */
export function crsFiles(rulesDir: string): string[] {
  const confs = readdirSync(rulesDir)
    .filter((f) => f.endsWith(".conf"))
    .sort()
    .map((f) => join(rulesDir, f));
  return [join(dirname(rulesDir), "crs-setup.conf.example"), ...confs];
}

/** extractRx lists the @rx patterns (explicit, or implicit: an operator without @) of every .conf in dir. */
export function extractRx(dir: string): CrsPattern[] {
  const out: CrsPattern[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".conf"))
    .sort()) {
    const lines = readFileSync(join(dir, file), "utf8").split("\n");
    let head = "";
    let chained = 0;
    let inChain = false;
    for (let i = 0; i < lines.length; i++) {
      const first = i;
      let text = lines[i]!;
      while (text.endsWith("\\") && i + 1 < lines.length) text = text.slice(0, -1) + lines[++i];
      const args = words(text.trim());
      if (args[0] !== "SecRule" || args.length < 3) continue;
      const op = args[2]!.replace(/^!/, "");
      const actions = args[3] ?? "";
      const id = /(?:^|,)\s*id:'?(\d+)/.exec(actions)?.[1];
      if (!inChain) {
        head = id ?? `${file}:${first + 1}`;
        chained = 0;
      } else chained++;
      inChain = /(?:^|,)\s*chain\s*(?:,|$)/.test(actions);
      let pattern: string | undefined;
      if (op.startsWith("@rx ")) pattern = op.slice(4).replace(/^\s+/, "");
      else if (!op.startsWith("@")) pattern = op;
      if (pattern === undefined) continue;
      out.push({ id: chained === 0 ? head : `${head}/chain ${chained}`, file, line: first + 1, pattern });
    }
  }
  return out;
}

/** words splits a directive into arguments; inside quotes only \" is an escape (Apache's rule). */
function words(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === " " || s[i] === "\t") i++;
    if (i >= s.length) break;
    let w = "";
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && s[i + 1] === '"') i++;
        w += s[i++];
      }
      i++;
    } else {
      while (i < s.length && s[i] !== " " && s[i] !== "\t") w += s[i++];
    }
    out.push(w);
  }
  return out;
}

const GENERATED_MAX = 200;

/** generate walks the tree choosing branches and counts at random: a string the pattern (mostly)
 * matches. Classes give printable ASCII, tab and newline, or any byte with allBytes. */
export function generate(node: Node, next: () => number, out: number[], allBytes = false): void {
  if (out.length >= GENERATED_MAX) return; // nested counted loops multiply
  switch (node.t) {
    case "set": {
      const members: number[] = [];
      if (allBytes) {
        for (let b = 0; b < 256; b++) if (hasByte(node.set, b)) members.push(b);
      } else {
        for (let b = 0x20; b < 0x7f; b++) if (hasByte(node.set, b)) members.push(b);
        for (const b of [0x09, 0x0a]) if (hasByte(node.set, b)) members.push(b);
      }
      if (members.length > 0) out.push(members[Math.floor(next() * members.length)]!);
      return;
    }
    case "seq":
      for (const item of node.items) generate(item, next, out, allBytes);
      return;
    case "alt":
      generate(node.alts[Math.floor(next() * node.alts.length)]!, next, out, allBytes);
      return;
    case "group":
      generate(node.body, next, out, allBytes);
      return;
    case "rep": {
      const n = node.min + Math.floor(next() * (Math.min(node.max, node.min + 3) - node.min + 1));
      for (let i = 0; i < n; i++) generate(node.body, next, out, allBytes);
      return;
    }
    default:
      return;
  }
}
