// diff.ts: a unified diff of two texts (what `portico migrate` prints in a dry run, so the output
// can be read as a review and applied with `patch -p1`). Line-based LCS: manifests are small (a
// few thousand lines at most), and the O(n·m) table stays under a few MB up to ~2000×2000 lines;
// above that the common prefix/suffix trim keeps real-world edits (a few lines here and there) cheap.

/** unifiedDiff returns the hunks turning a into b with `context` lines around each, "" when equal. */
export function unifiedDiff(aName: string, bName: string, a: string, b: string, context = 3): string {
  if (a === b) return "";
  const x = splitLines(a);
  const y = splitLines(b);
  const ops = lineOps(x, y);
  const out: string[] = [`--- ${aName}`, `+++ ${bName}`];
  // Group ops into hunks: runs of changes with up to 2·context equal lines between them.
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i]!.op === " ") i++;
    if (i >= ops.length) break;
    let start = Math.max(0, i - context);
    let end = i;
    for (;;) {
      while (end < ops.length && ops[end]!.op !== " ") end++;
      let eq = end;
      while (eq < ops.length && ops[eq]!.op === " ") eq++;
      if (eq < ops.length && eq - end <= 2 * context) end = eq;
      else {
        end = Math.min(ops.length, end + context);
        break;
      }
    }
    const hunk = ops.slice(start, end);
    const aStart = hunk[0]!.a;
    const bStart = hunk[0]!.b;
    const aLen = hunk.filter((o) => o.op !== "+").length;
    const bLen = hunk.filter((o) => o.op !== "-").length;
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`);
    for (const o of hunk) out.push(`${o.op}${o.text}`);
    i = end;
    start = end;
  }
  return out.join("\n") + "\n";
}

interface Op {
  op: " " | "-" | "+";
  text: string;
  /** a, b: 1-based line numbers in each side where this op sits. */
  a: number;
  b: number;
}

// range prints a hunk's "start,len" the way diff -u does (start is the line before for len 0).
const range = (start: number, len: number) => (len === 0 ? `${start - 1},0` : `${start},${len}`);

function splitLines(s: string): string[] {
  if (s === "") return [];
  const lines = s.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function lineOps(x: string[], y: string[]): Op[] {
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf])
    suf++;
  const xs = x.slice(pre, x.length - suf);
  const ys = y.slice(pre, y.length - suf);
  const n = xs.length;
  const m = ys.length;
  // lcs[i][j] = LCS length of xs[i..] and ys[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i * (m + 1) + j] =
        xs[i] === ys[j]
          ? lcs[(i + 1) * (m + 1) + j + 1]! + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
  const ops: Op[] = [];
  let a = 1;
  let b = 1;
  const push = (op: Op["op"], text: string) => {
    ops.push({ op, text, a, b });
    if (op !== "+") a++;
    if (op !== "-") b++;
  };
  for (let k = 0; k < pre; k++) push(" ", x[k]!);
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && xs[i] === ys[j]) {
      push(" ", xs[i]!);
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) {
      // Removed lines first, as diff -u prints them.
      push("-", xs[i]!);
      i++;
    } else {
      push("+", ys[j]!);
      j++;
    }
  }
  for (let k = x.length - suf; k < x.length; k++) push(" ", x[k]!);
  return ops;
}
