// json.ts: the JSON body processor. Names follow Coraza: the root is `json`, object members add
// `.key`, array elements `.index` (`{"a":{"b":[1,2]}}` → json.a.b.0, json.a.b.1), and every
// non-empty array also yields its own name with its length (json.a.b = "2"), as Coraza's
// readItems does. Strings are decoded (\uXXXX becomes UTF-8 bytes, one char per byte), numbers,
// true and false stay as written, null is "". A top-level scalar is json.0 with json = "1"
// (Coraza through gjson's ForEach), a top-level null nothing. Duplicate keys are all kept (Coraza keeps the last; a rule
// should see both). The parser is iterative (no recursion to overflow), linear, and strict per
// RFC 8259: anything malformed stops it with `error`, keeping the pairs found before.
import type { BodyLimits, BodyResult, Pair } from "./types.ts";

/** Frame is one open container: its name and, for an array, the next index. */
interface Frame {
  name: string;
  array: boolean;
  index: number;
}

class JsonError extends Error {}

/** utf8 is code point cp as UTF-8 bytes, one char per byte. */
export function utf8(cp: number): string {
  if (cp < 0x80) return String.fromCharCode(cp);
  if (cp < 0x800) return String.fromCharCode(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  if (cp < 0x10000) return String.fromCharCode(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  return String.fromCharCode(
    0xf0 | (cp >> 18),
    0x80 | ((cp >> 12) & 63),
    0x80 | ((cp >> 6) & 63),
    0x80 | (cp & 63),
  );
}

const simpleEscapes: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

const number = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Reader {
  pos = 0;
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }

  fail(what: string): never {
    throw new JsonError(`JSON: ${what} at byte ${this.pos}`);
  }

  ws(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  hex4(): number {
    const h = this.s.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail("invalid \\u escape");
    this.pos += 4;
    return parseInt(h, 16);
  }

  /** string reads a string whose opening quote is at pos. */
  string(): string {
    const s = this.s;
    this.pos++;
    let out = "";
    let from = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.fail("unterminated string");
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) break;
      if (c < 0x20) this.fail("control character in string");
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += s.slice(from, this.pos);
      const e = s[this.pos + 1];
      this.pos += 2;
      if (e === "u") {
        let cp = this.hex4();
        if (cp >= 0xd800 && cp < 0xdc00 && s.startsWith("\\u", this.pos)) {
          const save = this.pos;
          this.pos += 2;
          const lo = this.hex4();
          if (lo >= 0xdc00 && lo < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          else this.pos = save;
        }
        // A lone surrogate becomes U+FFFD, as Go's decoder (and so Coraza) makes it.
        if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
        out += utf8(cp);
      } else {
        const simple = e === undefined ? undefined : simpleEscapes[e];
        if (simple === undefined) this.fail("invalid escape");
        out += simple;
      }
      from = this.pos;
    }
    out += s.slice(from, this.pos);
    this.pos++;
    return out;
  }

  /** scalar reads a number, true, false or null as its ARGS value. */
  scalar(): string {
    const s = this.s;
    for (const word of ["true", "false", "null"]) {
      if (s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return word === "null" ? "" : word;
      }
    }
    number.lastIndex = this.pos;
    const m = number.exec(s);
    if (m === null) this.fail("unexpected character");
    this.pos += m[0].length;
    return m[0];
  }
}

/** parseJson runs the JSON processor on a whole body. */
export function parseJson(body: string, limits: BodyLimits): BodyResult {
  const args: Pair[] = [];
  const r = new Reader(body);
  const stack: Frame[] = [];
  const add = (name: string, value: string) => {
    if (args.length >= limits.maxArgs) r.fail(`more than ${limits.maxArgs} arguments (SecArgumentsLimit)`);
    args.push([name, value]);
  };
  try {
    r.ws();
    if (r.pos >= body.length) return { args, files: [], flags: {} };
    // name is the name the next value gets; a top-level scalar is json.0 (see above).
    let name = body[r.pos] === "{" || body[r.pos] === "[" ? "json" : "json.0";
    const topScalar = name === "json.0";
    // gjson sees a top-level null as no value at all: Coraza reports nothing for it.
    if (topScalar && body.startsWith("null", r.pos)) {
      r.pos += 4;
      r.ws();
      if (r.pos < body.length) r.fail("data after the document");
      return { args, files: [], flags: {} };
    }
    for (;;) {
      r.ws();
      const c = body[r.pos];
      if (c === "{" || c === "[") {
        if (stack.length >= limits.maxDepth) r.fail(`depth limit ${limits.maxDepth} exceeded`);
        r.pos++;
        const frame: Frame = { name, array: c === "[", index: 0 };
        stack.push(frame);
        r.ws();
        if (body[r.pos] === (frame.array ? "]" : "}")) {
          // An empty container yields nothing (Coraza: no members, no length).
          r.pos++;
          stack.pop();
        } else {
          name = nextName(r, frame);
          continue;
        }
      } else if (c === '"') add(name, r.string());
      else if (c === undefined) r.fail("unexpected end");
      else add(name, r.scalar());
      // After a value: close finished containers, or move to the next member.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          r.ws();
          if (r.pos < body.length) r.fail("data after the document");
          if (topScalar) add("json", "1");
          return { args, files: [], flags: {} };
        }
        r.ws();
        const d = body[r.pos];
        if (d === ",") {
          r.pos++;
          name = nextName(r, top);
          break;
        }
        if (d !== (top.array ? "]" : "}")) r.fail(top.array ? "expected , or ]" : "expected , or }");
        r.pos++;
        stack.pop();
        if (top.array) add(top.name, String(top.index));
      }
    }
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    return { args, files: [], flags: {}, error: e.message };
  }
}

/** nextName reads what comes before a member's value (an object's `"key":`) and returns its name. */
function nextName(r: Reader, frame: Frame): string {
  if (frame.array) return `${frame.name}.${frame.index++}`;
  r.ws();
  if (r.s[r.pos] !== '"') r.fail("expected a member name");
  const key = r.string();
  r.ws();
  if (r.s[r.pos] !== ":") r.fail("expected :");
  r.pos++;
  return `${frame.name}.${key}`;
}
