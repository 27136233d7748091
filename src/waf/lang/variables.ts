// variables.ts: a rule's target list, `ARGS|!ARGS:pw|&TX:x|REQUEST_COOKIES:/^sess/|XML:/*`.
// Variables are separated by '|'; `!` excludes one member, `&` counts; a selector follows ':' (or
// '.', which ModSecurity v3 also accepts) and is a name, a /regex/ (a '|' inside it does not split
// the list), a quoted '/regex/' or 'name', or for XML an XPath expression. Names are
// case-insensitive and come out upper-case; selectors stay as written.
import { LangFault } from "./errors.ts";
import type { Selector, Variable } from "./model.ts";
import { COLLECTIONS, SCALARS } from "./names.ts";

const XPATH = new Set(["XML", "REQUEST_XML", "RESPONSE_XML", "JSON"]);

/** parseVariables parses a target list; errors are LangFaults with an offset into text. */
export function parseVariables(text: string): Variable[] {
  const out: Variable[] = [];
  let i = 0;
  if (text.trim() === "") throw new LangFault("WAF_LANG_SYNTAX", "the rule names no variable", 0);
  while (i <= text.length) {
    const start = i;
    let exclude = false;
    let count = false;
    while (text[i] === "!" || text[i] === "&") {
      if (text[i] === "!") exclude = true;
      else count = true;
      i++;
    }
    const nameStart = i;
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i] ?? "")) i++;
    const written = text.slice(nameStart, i);
    const collection = written.toUpperCase();
    if (!written) {
      throw new LangFault(
        "WAF_LANG_SYNTAX",
        `expected a variable name at ${JSON.stringify(text.slice(start))}`,
        start,
      );
    }
    const isCollection = COLLECTIONS.has(collection);
    if (!isCollection && !SCALARS.has(collection)) {
      const hint = text.includes(",") ? " (separate variables with '|', not ',')" : "";
      throw new LangFault("WAF_LANG_UNKNOWN_VARIABLE", `unknown variable ${written}${hint}`, nameStart);
    }
    let selector: Selector | undefined;
    if (text[i] === ":" || text[i] === ".") {
      const selStart = i + 1;
      if (!isCollection) {
        throw new LangFault(
          "WAF_LANG_BAD_ARGUMENT",
          `${collection} holds one value and takes no selector`,
          i,
        );
      }
      [selector, i] = readSelector(text, selStart, collection);
    }
    if (i < text.length && text[i] !== "|") {
      throw new LangFault(
        "WAF_LANG_SYNTAX",
        `unexpected ${JSON.stringify(text.slice(i))} after variable ${text.slice(start, i)}: separate variables with '|'`,
        i,
      );
    }
    if (exclude && count)
      throw new LangFault("WAF_LANG_SYNTAX", "a variable cannot be both excluded (!) and counted (&)", start);
    if (exclude && !selector) {
      throw new LangFault(
        "WAF_LANG_SYNTAX",
        `!${collection} excludes nothing: name the member to exclude (!${collection}:name or !${collection}:/regex/)`,
        start,
      );
    }
    out.push(selector ? { collection, selector, count, exclude } : { collection, count, exclude });
    i++;
  }
  return out;
}

function readSelector(text: string, at: number, collection: string): [Selector, number] {
  if (XPATH.has(collection) && text[at] === "/" && collection !== "JSON") {
    const end = indexOrEnd(text, "|", at);
    return [{ kind: "xpath", value: text.slice(at, end) }, end];
  }
  if (text[at] === "/") {
    const close = closing(text, "/", at + 1);
    if (close < 0) throw new LangFault("WAF_LANG_SYNTAX", "regex selector without its closing '/'", at);
    return [{ kind: "regex", pattern: text.slice(at + 1, close) }, close + 1];
  }
  if (text[at] === "'") {
    const close = closing(text, "'", at + 1);
    if (close < 0) throw new LangFault("WAF_LANG_SYNTAX", 'quoted selector without its closing "\'"', at);
    const inner = text.slice(at + 1, close);
    if (inner.length >= 2 && inner.startsWith("/") && inner.endsWith("/")) {
      return [{ kind: "regex", pattern: inner.slice(1, -1) }, close + 1];
    }
    return [{ kind: "name", value: inner.replace(/\\'/g, "'") }, close + 1];
  }
  const end = indexOrEnd(text, "|", at);
  const value = text.slice(at, end);
  if (!value) throw new LangFault("WAF_LANG_SYNTAX", `empty selector after ${collection}:`, at);
  return [{ kind: "name", value }, end];
}

/** closing finds the next `ch` not escaped by a backslash, or -1. */
function closing(text: string, ch: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === ch) return i;
  }
  return -1;
}

function indexOrEnd(text: string, ch: string, from: number): number {
  const i = text.indexOf(ch, from);
  return i < 0 ? text.length : i;
}
