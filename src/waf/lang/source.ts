// source.ts: physical lines → logical lines (one directive each), the way ModSecurity reads a
// configuration file. A backslash that is the last character of a line joins the next line: the
// backslash and the line break go, the text before the backslash stays and the next line's
// indentation is dropped (Coraza; ModSecurity v3 drops both sides between tokens). A line whose
// first non-blank character is '#' is a comment; a blank line ends a directive.
// Three readers disagree on the corner cases below, so they are errors instead of a silent guess:
// a comment that ends with a backslash followed by a directive line (Apache and ModSecurity v3
// swallow that line into the comment, Coraza does not), a comment line in the middle of a
// continued directive, and spaces after a trailing backslash (not a continuation for Apache and
// v3, one for Coraza).
import { WafLangError } from "./errors.ts";

/** LogicalLine is one directive's text after joining continuations, trimmed. */
export interface LogicalLine {
  text: string;
  /** line is the physical line the directive starts on. */
  line: number;
  /** starts[i] is the offset in text where physical line `line + i` begins (continuations). */
  starts: number[];
}

/** lineAt maps an offset in a logical line's text back to its physical line. */
export function lineAt(l: LogicalLine, offset: number): number {
  let i = 0;
  while (i + 1 < l.starts.length && (l.starts[i + 1] ?? Infinity) <= offset) i++;
  return l.line + i;
}

/** logicalLines splits a rule file's text into directives; problems are returned, not thrown. */
export function logicalLines(text: string, file: string): { lines: LogicalLine[]; errors: WafLangError[] } {
  // A UTF-8 byte order mark (editors on Windows add one) is not part of the first directive.
  const phys = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const lines: LogicalLine[] = [];
  const errors: WafLangError[] = [];
  let cur: LogicalLine | undefined;
  const isComment = (s: string) => s.trimStart().startsWith("#");
  for (let i = 0; i < phys.length; i++) {
    const n = i + 1;
    const raw = phys[i] ?? "";
    const body = raw.trimStart();
    if (body === "") {
      if (cur) lines.push(finish(cur));
      cur = undefined;
      continue;
    }
    if (body.startsWith("#")) {
      if (cur) {
        errors.push(
          new WafLangError(
            "WAF_LANG_SYNTAX",
            { file, line: n },
            `comment line inside a directive continued from line ${cur.line}: end the directive first (no '\\' on the line before) or remove the comment`,
          ),
        );
        continue;
      }
      const next = phys[i + 1];
      if (raw.endsWith("\\") && next !== undefined && next.trim() !== "" && !isComment(next)) {
        errors.push(
          new WafLangError(
            "WAF_LANG_SYNTAX",
            { file, line: n },
            `comment ends with '\\' and line ${n + 1} is not a comment: ModSecurity would treat line ${n + 1} as part of the comment, Coraza would not; remove the '\\' or comment out line ${n + 1} too`,
          ),
        );
      }
      continue;
    }
    const trimmedEnd = body.trimEnd();
    const continues = trimmedEnd.endsWith("\\");
    if (continues && trimmedEnd.length !== body.length) {
      errors.push(
        new WafLangError(
          "WAF_LANG_SYNTAX",
          { file, line: n },
          "spaces after the '\\' that ends this line: a line continues only when '\\' is its last character; remove the spaces",
        ),
      );
    }
    const piece = continues ? trimmedEnd.slice(0, -1) : body;
    if (!cur) cur = { text: "", line: n, starts: [] };
    // A continuation line gets a start even when it adds nothing, so lineAt stays exact.
    while (cur.line + cur.starts.length <= n) cur.starts.push(cur.text.length);
    cur.text += piece;
    if (!continues) {
      lines.push(finish(cur));
      cur = undefined;
    }
  }
  if (cur) lines.push(finish(cur));
  return { lines, errors };
}

function finish(l: LogicalLine): LogicalLine {
  return { ...l, text: l.text.trimEnd() };
}
