// t-comment.ts: comment removal (C, SQL, HTML comments) and cmdLine, the shell-evasion normaliser.
// ModSecurity v3 semantics; each returns its input itself when it holds nothing to change.
import { output, text } from "./buffer.ts";
import type { Transform } from "./types.ts";

/** removeComments removes /* … *\/ and <!-- … --> comments; "--" or "#" outside a comment ends the
 * value there (SQL/shell line comment, ModSecurity cuts the rest); an unterminated comment
 * becomes one space. */
function removeComments(s: string): string {
  if (!/\/\*|<!--|--|#/.test(s)) return s;
  const n = s.length;
  const b = output(n + 1);
  let j = 0;
  let inComment = false;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (inComment) {
      if (c === 0x2a && s.charCodeAt(i + 1) === 0x2f) {
        inComment = false;
        i += 2;
      } else if (c === 0x2d && s.startsWith("->", i + 1)) {
        inComment = false;
        i += 3;
      } else i++;
      continue;
    }
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      inComment = true;
      i += 2;
    } else if (c === 0x3c && s.startsWith("!--", i + 1)) {
      inComment = true;
      i += 4;
    } else if ((c === 0x2d && s.charCodeAt(i + 1) === 0x2d) || c === 0x23) {
      break;
    } else {
      b[j++] = c;
      i++;
    }
  }
  if (inComment) b[j++] = 0x20;
  return text(b, j);
}

/** removeCommentsChar removes the comment markers themselves: /* *\/ <!-- --> -- and #. */
function removeCommentsChar(s: string): string {
  // "-->" before "--" so the arrow goes whole; the alternation order gives that at one position.
  return /\/\*|\*\/|<!--|--|#/.test(s) ? s.replace(/\/\*|\*\/|<!--|-->|--|#/g, "") : s;
}

/** replaceComments replaces each /* … *\/ comment (or an unterminated /* … to the end) by one space. */
function replaceComments(s: string): string {
  return s.includes("/*") ? s.replace(/\/\*[^]*?(?:\*\/|$)/g, " ") : s;
}

// Bytes cmdLine changes: quotes, backslash, caret, the separators, '/', '(' and upper-case letters.
const CMD_TRIGGER = /["'\\^ ,;\t\r\n/(A-Z]/;

/** cmdLine normalises a shell command line as ModSecurity: drops \ " ' ^, turns runs of space , ;
 * \t \r \n into one space, drops a space before / or (, and lowercases. */
function cmdLine(s: string): string {
  if (!CMD_TRIGGER.test(s)) return s;
  const n = s.length;
  const b = output(n);
  let j = 0;
  let space = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
      case 0x27:
      case 0x5c:
      case 0x5e:
        break;
      case 0x20:
      case 0x2c:
      case 0x3b:
      case 0x09:
      case 0x0d:
      case 0x0a:
        if (!space) b[j++] = 0x20;
        space = true;
        break;
      case 0x2f:
      case 0x28:
        if (space) j--;
        space = false;
        b[j++] = c;
        break;
      default:
        b[j++] = c >= 0x41 && c <= 0x5a ? c + 32 : c;
        space = false;
    }
  }
  return text(b, j);
}

/** COMMENT are the comment and command-line transformations, by canonical name. */
export const COMMENT: Readonly<Record<string, Transform>> = {
  removeComments,
  removeCommentsChar,
  replaceComments,
  cmdLine,
};
