// words.ts: a directive's arguments. Arguments are separated by spaces or tabs; an argument in
// double quotes ends at the first '"' not escaped by a backslash. Inside it `\"` becomes '"' (as in
// Coraza and Apache's ModSecurity v2) and every other backslash stays, `\\` as two characters that
// cannot escape a quote after them: a regular expression means what it means to ModSecurity v3
// (which passes `\"` to PCRE raw, the same pattern). Apache's v2 would also turn `\\` into `\`,
// which is why CRS spells a literal backslash `\x5c`; Coraza reads `\\\"` as `\"`, v3 as `\\"`.
import { LangFault } from "./errors.ts";

/** Word is one argument of a directive: its text after unquoting and where it starts. */
export interface Word {
  text: string;
  /** offset is where the word (its opening quote, if quoted) starts in the logical line. */
  offset: number;
  quoted: boolean;
}

/** splitWords splits a logical line into its words; a missing closing quote is a LangFault. */
export function splitWords(text: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      throw new LangFault(
        "WAF_LANG_SYNTAX",
        "a directive's arguments are quoted with '\"', not \"'\" (ModSecurity v3 and Coraza read only double quotes there)",
        i,
      );
    }
    if (c === '"') {
      let out = "";
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i];
        if (d === "\\" && text[i + 1] === '"') {
          out += '"';
          i += 2;
          continue;
        }
        if (d === "\\" && text[i + 1] === "\\") {
          // An escaped backslash keeps both characters but cannot escape the quote after it.
          out += "\\\\";
          i += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        out += d;
        i++;
      }
      if (!closed)
        throw new LangFault(
          "WAF_LANG_SYNTAX",
          "missing closing '\"' for the argument that starts here",
          start,
        );
      words.push({ text: out, offset: start, quoted: true });
      continue;
    }
    while (i < text.length && text[i] !== " " && text[i] !== "\t") {
      if (text[i] === '"') {
        throw new LangFault(
          "WAF_LANG_SYNTAX",
          `unexpected '"' inside the unquoted argument ${JSON.stringify(text.slice(start, i + 1))}: put a space before the quoted argument or quote the whole argument`,
          i,
        );
      }
      i++;
    }
    words.push({ text: text.slice(start, i), offset: start, quoted: false });
  }
  return words;
}
