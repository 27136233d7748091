// xml.ts: the XML body processor, a small non-validating parser into XmlNode trees (elements,
// attributes, text; CDATA becomes text; comments and processing instructions are dropped, as they
// are not part of an element's string value). Entities: the five predefined ones and character
// references are decoded; a DOCTYPE is skipped unread, so no entity it declares is ever expanded
// or fetched (no XXE, no billion laughs) and a reference to one stays as written (`&e;`), which is
// what a rule should see. Line breaks are normalised (CRLF → LF) and attribute values get XML's
// whitespace normalisation, as libxml2 gives them to ModSecurity. Bytes are kept as sent (no
// transcoding of a declared encoding). Iterative, linear; malformed input stops the parse with
// `error` and the tree built so far is kept in `xml` (ModSecurity then has no document at all;
// keeping it lets XML:/* still see what came before the fault).
import { utf8 } from "./json.ts";
import type { BodyLimits, BodyResult, Pair, XmlNode } from "./types.ts";

class XmlError extends Error {}

const predefined: Record<string, string> = { lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' };
const entityRef = /&(?:#([0-9]{1,7})|#x([0-9a-fA-F]{1,6})|([A-Za-z_:][-A-Za-z0-9._:]*));/y;
const nameEnd = /[\s/>=<"'&]/g;

const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

class XmlParser {
  pos = 0;
  nextLt = 0;
  root: XmlNode | undefined;
  readonly stack: XmlNode[] = [];
  readonly s: string;
  readonly limits: BodyLimits;
  constructor(s: string, limits: BodyLimits) {
    this.s = s;
    this.limits = limits;
  }

  fail(what: string): never {
    throw new XmlError(`XML: ${what} at byte ${this.pos}`);
  }

  ws(): void {
    while (this.pos < this.s.length && isWs(this.s.charCodeAt(this.pos))) this.pos++;
  }

  /** skipTo moves past the next `end`, failing with `what` when there is none. */
  skipTo(end: string, what: string): number {
    const at = this.s.indexOf(end, this.pos);
    if (at < 0) this.fail(what);
    this.pos = at + end.length;
    return at;
  }

  /** decode resolves references in s[start, end); attr also turns TAB/CR/LF into spaces. */
  decode(start: number, end: number, attr: boolean): string {
    const s = this.s;
    let raw = s.slice(start, end);
    if (raw.includes("\r")) raw = raw.replace(/\r\n?/g, "\n");
    if (attr) raw = raw.replace(/[\t\n]/g, " ");
    if (!raw.includes("&")) return raw;
    let out = "";
    let from = 0;
    for (let amp = raw.indexOf("&"); amp >= 0; amp = raw.indexOf("&", from)) {
      entityRef.lastIndex = amp;
      const m = entityRef.exec(raw);
      if (m === null) {
        this.pos = start + amp;
        this.fail("invalid entity reference");
      }
      let text: string;
      if (m[3] !== undefined) text = predefined[m[3]] ?? m[0];
      else {
        const cp = m[1] !== undefined ? parseInt(m[1], 10) : parseInt(m[2]!, 16);
        if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
          this.pos = start + amp;
          this.fail("invalid character reference");
        }
        text = utf8(cp);
      }
      out += raw.slice(from, amp) + text;
      from = entityRef.lastIndex;
    }
    return out + raw.slice(from);
  }

  /** misc skips a comment, processing instruction or (before the root) DOCTYPE at pos, if any. */
  misc(prolog: boolean): boolean {
    const s = this.s;
    if (s.startsWith("<!--", this.pos)) this.skipTo("-->", "unterminated comment");
    else if (s.startsWith("<?", this.pos)) this.skipTo("?>", "unterminated processing instruction");
    else if (prolog && s.startsWith("<!DOCTYPE", this.pos)) this.doctype();
    else return false;
    return true;
  }

  /** doctype skips a DOCTYPE with its internal subset, minding quotes and comments. */
  doctype(): void {
    const s = this.s;
    let subset = false;
    for (this.pos += 9; this.pos < s.length; this.pos++) {
      const c = s[this.pos];
      if (c === '"' || c === "'") {
        this.pos++;
        this.skipTo(c, "unterminated DOCTYPE");
        this.pos--;
      } else if (subset && s.startsWith("<!--", this.pos)) {
        this.skipTo("-->", "unterminated comment");
        this.pos--;
      } else if (c === "[") subset = true;
      else if (c === "]") subset = false;
      else if (c === ">" && !subset) {
        this.pos++;
        return;
      }
    }
    this.fail("unterminated DOCTYPE");
  }

  /** name reads an element or attribute name at pos. */
  name(): string {
    nameEnd.lastIndex = this.pos;
    const m = nameEnd.exec(this.s);
    const end = m === null ? this.s.length : m.index;
    if (end === this.pos) this.fail("name expected");
    const name = this.s.slice(this.pos, end);
    this.pos = end;
    return name;
  }

  /** startTag reads `<name attr="v" ...>` or `.../>` with pos after `<`. */
  startTag(): void {
    const s = this.s;
    const node: XmlNode = { name: this.name(), attributes: [], children: [] };
    // A set only past 8 attributes: most elements have a few, and a set each costs more than a scan.
    let seen: Set<string> | undefined;
    for (;;) {
      this.ws();
      if (this.pos >= s.length) this.fail("unterminated start tag");
      if (s[this.pos] === ">" || s.startsWith("/>", this.pos)) break;
      const name = this.name();
      this.ws();
      if (s[this.pos] !== "=") this.fail("= expected after attribute name");
      this.pos++;
      this.ws();
      const q = s[this.pos];
      if (q !== '"' && q !== "'") this.fail("quoted attribute value expected");
      const start = ++this.pos;
      const end = this.skipTo(q, "unterminated attribute value");
      // The next `<` is found once and reused until passed: a search per attribute would rescan
      // the rest of a tag with 100k attributes each time.
      if (this.nextLt >= 0 && this.nextLt < start) this.nextLt = s.indexOf("<", start);
      if (this.nextLt >= 0 && this.nextLt < end) this.fail("< in attribute value");
      const attrs = node.attributes;
      if (attrs.length === 8) seen = new Set(attrs.map(([n]) => n));
      if (seen !== undefined ? seen.has(name) : attrs.some(([n]) => n === name)) {
        this.fail(`duplicate attribute ${name}`);
      }
      seen?.add(name);
      node.attributes.push([name, this.decode(start, end, true)] as Pair);
    }
    const parent = this.stack[this.stack.length - 1];
    if (parent !== undefined) parent.children.push(node);
    else this.root = node;
    if (s[this.pos] === "/") {
      this.pos += 2;
      return;
    }
    this.pos++;
    if (this.stack.length >= this.limits.maxDepth) this.fail(`depth limit ${this.limits.maxDepth} exceeded`);
    this.stack.push(node);
  }

  /** parse reads the whole document. */
  parse(): void {
    const s = this.s;
    if (s.startsWith("\xef\xbb\xbf")) this.pos = 3;
    for (this.ws(); this.misc(true); this.ws());
    if (s[this.pos] !== "<") this.fail(this.pos >= s.length ? "document is empty" : "start tag expected");
    this.pos++;
    this.startTag();
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1]!;
      const lt = s.indexOf("<", this.pos);
      if (lt < 0) {
        this.pos = s.length;
        this.fail(`element ${top.name} not closed`);
      }
      if (lt > this.pos) top.children.push(this.decode(this.pos, lt, false));
      this.pos = lt;
      if (s.startsWith("</", lt)) {
        this.pos += 2;
        const name = this.name();
        this.ws();
        if (s[this.pos] !== ">") this.fail("> expected");
        if (name !== top.name) this.fail(`end tag ${name} does not match ${top.name}`);
        this.pos++;
        this.stack.pop();
      } else if (s.startsWith("<![CDATA[", lt)) {
        this.pos += 9;
        const end = this.skipTo("]]>", "unterminated CDATA section");
        top.children.push(s.slice(lt + 9, end));
      } else if (!this.misc(false)) {
        if (s[lt + 1] === "!") this.fail("unexpected markup declaration");
        this.pos++;
        this.startTag();
      }
    }
    for (this.ws(); this.misc(false); this.ws());
    if (this.pos < s.length) this.fail("extra content at the end of the document");
  }
}

/** parseXml runs the XML processor on a whole body. */
export function parseXml(body: string, limits: BodyLimits): BodyResult {
  const p = new XmlParser(body, limits);
  try {
    p.parse();
  } catch (e) {
    if (!(e instanceof XmlError)) throw e;
    const out: BodyResult = { args: [], files: [], flags: {}, error: e.message };
    if (p.root !== undefined) out.xml = p.root;
    return out;
  }
  return { args: [], files: [], flags: {}, xml: p.root! };
}
