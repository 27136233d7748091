// t-path.ts: path normalisation: "//" → "/", "." segments dropped, ".." resolved lexically (a
// rooted path cannot climb above "/", a relative one keeps its leading ".."), and a trailing "/"
// kept; "." alone becomes "". ModSecurity's test vectors define it (Coraza: Go's path.Clean).
import type { Transform } from "./types.ts";

// Anything normalisation may change: a doubled slash or a "." / ".." segment.
const DIRTY = /\/\/|(?:^|\/)\.\.?(?:\/|$)/;

/** normalisePath cleans a '/'-separated path. */
function normalisePath(s: string): string {
  if (!DIRTY.test(s)) return s;
  const rooted = s.charCodeAt(0) === 0x2f;
  const out: string[] = [];
  for (const seg of s.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg !== "..") out.push(seg);
    else if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (!rooted) out.push("..");
  }
  let clean = (rooted ? "/" : "") + out.join("/");
  if (s.endsWith("/") && clean !== "" && !clean.endsWith("/")) clean += "/";
  return clean === s ? s : clean;
}

/** normalisePathWin is normalisePath after turning every '\' into '/'. */
function normalisePathWin(s: string): string {
  return normalisePath(s.includes("\\") ? s.replaceAll("\\", "/") : s);
}

/** PATH are the path transformations, by canonical name. */
export const PATH: Readonly<Record<string, Transform>> = { normalisePath, normalisePathWin };
