// macro.ts: `%{tx.anomaly_score}`-style macros, parsed once at load into a Template whose parts
// the engine concatenates per transaction. `%{` without a closing `}` is plain text, as in
// ModSecurity; a macro naming an unknown variable is an error.
import { LangFault } from "./errors.ts";
import type { MacroRef, Template } from "./model.ts";
import { COLLECTIONS, SCALARS } from "./names.ts";

/** parseTemplate splits text into literal parts and macro references. */
export function parseTemplate(raw: string): Template {
  const parts: (string | MacroRef)[] = [];
  let i = 0;
  let text = "";
  while (i < raw.length) {
    const open = raw.indexOf("%{", i);
    const close = open < 0 ? -1 : raw.indexOf("}", open + 2);
    if (open < 0 || close < 0) {
      text += raw.slice(i);
      break;
    }
    text += raw.slice(i, open);
    if (text) parts.push(text);
    text = "";
    parts.push(macroRef(raw.slice(open + 2, close), open));
    i = close + 1;
  }
  if (text) parts.push(text);
  return { raw, parts };
}

/** isLiteral says whether a template holds no macro. */
export function isLiteral(t: Template): boolean {
  return t.parts.every((p) => typeof p === "string");
}

function macroRef(inner: string, offset: number): MacroRef {
  const m = /^([A-Za-z_0-9]+)(?:[.:](.+))?$/.exec(inner.trim());
  if (!m)
    throw new LangFault(
      "WAF_LANG_SYNTAX",
      `malformed macro %{${inner}}: expected %{VARIABLE} or %{COLLECTION.key}`,
      offset,
    );
  const collection = (m[1] ?? "").toUpperCase();
  const key = m[2];
  if (key === undefined) {
    if (!SCALARS.has(collection) && !COLLECTIONS.has(collection)) {
      throw new LangFault("WAF_LANG_UNKNOWN_VARIABLE", `macro %{${inner}} names no known variable`, offset);
    }
    return { collection };
  }
  if (!COLLECTIONS.has(collection)) {
    throw new LangFault(
      "WAF_LANG_UNKNOWN_VARIABLE",
      SCALARS.has(collection)
        ? `macro %{${inner}}: ${collection} holds one value and takes no key`
        : `macro %{${inner}} names no known collection`,
      offset,
    );
  }
  return { collection, key };
}
