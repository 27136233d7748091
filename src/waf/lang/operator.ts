// operator.ts: a rule's operator, `@rx ^a`, `!@pm a b`, `@pmFromFile x.data`, or a bare regex
// (`@rx` is the default). As in ModSecurity v3 one space separates the name from its argument and
// a regex or text argument is kept byte for byte (spaces included); lists and numbers are
// trimmed. `@pmFromFile` and `@ipMatchFromFile` files resolve against the rule file's directory
// and are read now, so a missing file fails the load instead of the first request.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isAbsolute, join } from "node:path";
import { LangFault } from "./errors.ts";
import { isLiteral, parseTemplate } from "./macro.ts";
import type { Operator, OperatorArgValue } from "./model.ts";
import { OPERATORS, OPERATOR_ALIASES, canonical } from "./names.ts";

/** DataContext tells the operator parser where the rule file is and records the files it reads. */
export interface DataContext {
  /** dir is the directory of the rule file (data files are relative to it). */
  dir: string;
  /** read records each data file read, for the rule set's file list. */
  read(path: string): void;
}

/** parseOperator parses the operator argument of a SecRule. */
export function parseOperator(text: string, ctx: DataContext): Operator {
  let rest = text;
  let negated = false;
  if (rest.startsWith("!")) {
    negated = true;
    rest = rest.slice(1);
  }
  if (!rest.startsWith("@")) {
    return { name: "rx", negated, raw: rest, arg: { kind: "regex", pattern: rest } };
  }
  const m = /^@([A-Za-z0-9]+)/.exec(rest);
  const written = m?.[1] ?? "";
  const name = OPERATOR_ALIASES.get(written.toLowerCase()) ?? canonical(written, OPERATORS.keys());
  if (!name)
    throw new LangFault("WAF_LANG_UNKNOWN_OPERATOR", `unknown operator @${written}`, negated ? 1 : 0);
  const after = rest.slice(1 + written.length);
  if (after !== "" && !after.startsWith(" ") && !after.startsWith("\t")) {
    throw new LangFault("WAF_LANG_SYNTAX", `put a space between @${written} and its argument`, 0);
  }
  const raw = after.slice(1);
  return { name, negated, raw, arg: operatorArg(name, raw, ctx) };
}

function operatorArg(name: string, raw: string, ctx: DataContext): OperatorArgValue {
  const shape = OPERATORS.get(name) ?? "raw";
  const trimmed = raw.trim();
  switch (shape) {
    case "none":
      if (trimmed !== "")
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `@${name} takes no argument, got ${JSON.stringify(trimmed)}`,
        );
      return { kind: "none" };
    case "regex":
      return { kind: "regex", pattern: raw };
    case "number": {
      const t = parseTemplate(trimmed);
      if (!isLiteral(t)) return { kind: "template", template: t };
      if (!/^-?\d+$/.test(trimmed)) {
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `@${name} compares numbers: expected an integer or a %{macro}, got ${JSON.stringify(trimmed)}`,
        );
      }
      return { kind: "number", value: Number(trimmed) };
    }
    case "text":
      return { kind: "template", template: parseTemplate(raw) };
    case "phrases": {
      const phrases = words(trimmed);
      if (phrases.length === 0)
        throw new LangFault("WAF_LANG_BAD_ARGUMENT", `@${name} needs at least one phrase`);
      return { kind: "phrases", phrases };
    }
    case "phraseFiles": {
      const files = dataFiles(name, trimmed, ctx);
      return { kind: "phrases", phrases: files.flatMap((f) => dataLines(f)), files };
    }
    case "ips":
      return {
        kind: "ips",
        ips: ipList(
          name,
          trimmed.split(",").map((s) => s.trim()),
          "",
        ),
      };
    case "ipFiles": {
      const files = dataFiles(name, trimmed, ctx);
      return { kind: "ips", ips: files.flatMap((f) => ipList(name, dataLines(f), ` in ${f}`)), files };
    }
    case "byteRanges":
      return { kind: "byteRanges", ranges: byteRanges(trimmed) };
    case "raw":
      return { kind: "raw", value: raw };
  }
}

function words(s: string): string[] {
  return s.split(/[ \t]+/).filter((w) => w !== "");
}

function dataFiles(name: string, arg: string, ctx: DataContext): string[] {
  const names = words(arg);
  if (names.length === 0) throw new LangFault("WAF_LANG_BAD_ARGUMENT", `@${name} needs a data file name`);
  return names.map((n) => {
    if (/^https?:\/\//i.test(n)) {
      throw new LangFault(
        "WAF_LANG_FILE",
        `@${name} ${n}: data files are not downloaded; save the file next to the rule file and name it`,
      );
    }
    const path = isAbsolute(n) ? n : join(ctx.dir, n);
    ctx.read(path);
    return path;
  });
}

/** dataLines reads a .data file: one entry a line, blank lines and '#' comments skipped. */
function dataLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new LangFault("WAF_LANG_FILE", `cannot read data file ${path}: ${(err as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function ipList(name: string, items: string[], where: string): string[] {
  for (const item of items) {
    const [addr = "", bits, extra] = item.split("/");
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max);
    if (family === 0 || !okBits || extra !== undefined) {
      throw new LangFault(
        "WAF_LANG_BAD_ARGUMENT",
        `@${name}: ${JSON.stringify(item)}${where} is not an address or CIDR block`,
      );
    }
  }
  if (items.length === 0) throw new LangFault("WAF_LANG_BAD_ARGUMENT", `@${name} needs at least one address`);
  return items;
}

function byteRanges(arg: string): [number, number][] {
  return arg.split(",").map((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || from > 255 || to > 255 || from > to) {
      throw new LangFault(
        "WAF_LANG_BAD_ARGUMENT",
        `@validateByteRange: ${JSON.stringify(part.trim())} is not a byte (0-255) or a range of bytes like 32-126`,
      );
    }
    return [from, to];
  });
}
