// xpath.ts: the XPath subset rules use on the XML collection. An expression is a chain of steps,
// each after `/` (child) or `//` (descendant-or-self); a step is a name, `*`, `text()`, `node()`,
// `@name` or `@*` (the last two and `text()` only at the end). `XML:/*` is the root element's
// string value (all its text and CDATA, concatenated: what ModSecurity gets from libxml2's
// xmlNodeGetContent, not Coraza's list of trimmed text chunks) and `XML://@*` every attribute
// value, in document order. Names are compared as written (prefix included; ModSecurity would
// need `xmlns:` to match namespaced elements). Anything else is refused with an XPathError, so
// the engine can report the rule rather than match nothing.
import type { XmlNode } from "./types.ts";

/** XPathError is an expression outside the supported subset (code WAF_XPATH_UNSUPPORTED). */
export class XPathError extends Error {
  readonly code = "WAF_XPATH_UNSUPPORTED";
}

/** Step is one location step. */
interface Step {
  descendant: boolean;
  kind: "element" | "attribute" | "text" | "node";
  /** name is the element or attribute name, "*" for any. */
  name: string;
}

const stepRx = /^(?:\*|text\(\)|node\(\)|@\*|@?[A-Za-z_\x80-\xff][-A-Za-z0-9._:\x80-\xff]*)$/;

const compiled = new Map<string, Step[]>();

/** compileXPath parses an expression of the subset into steps, or throws XPathError. */
export function compileXPath(expr: string): Step[] {
  const hit = compiled.get(expr);
  if (hit !== undefined) return hit;
  const refuse = (why: string): never => {
    throw new XPathError(
      `unsupported XPath expression ${JSON.stringify(expr)}: ${why} (supported: /a/b, //name, /*, //*, //@*, @name, text())`,
    );
  };
  if (!expr.startsWith("/")) refuse("it must start with / or //");
  const steps: Step[] = [];
  let i = 0;
  while (i < expr.length) {
    const descendant = expr.startsWith("//", i);
    i += descendant ? 2 : 1;
    let end = expr.indexOf("/", i);
    if (end < 0) end = expr.length;
    const text = expr.slice(i, end);
    if (!stepRx.test(text)) refuse(`step ${JSON.stringify(text)}`);
    const kind = text.startsWith("@")
      ? "attribute"
      : text === "text()"
        ? "text"
        : text === "node()"
          ? "node"
          : "element";
    if ((kind === "attribute" || kind === "text") && end < expr.length)
      refuse(`${text} must be the last step`);
    steps.push({ descendant, kind, name: kind === "attribute" ? text.slice(1) : text });
    i = end;
  }
  if (compiled.size < 1000) compiled.set(expr, steps);
  return steps;
}

/** Item is a node of the evaluation: an element, or a text node or attribute value (string). */
type Item = XmlNode | string;

/** selfAndDescendants lists n and every element below it in document order (iterative),
 * skipping subtrees already visited in this step so nested context nodes cost one walk. */
function selfAndDescendants(n: XmlNode, out: XmlNode[], visited: Set<XmlNode> | undefined): void {
  const stack: XmlNode[] = [n];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (visited !== undefined) {
      if (visited.has(e)) continue;
      visited.add(e);
    }
    out.push(e);
    for (let i = e.children.length - 1; i >= 0; i--) {
      const c = e.children[i]!;
      if (typeof c !== "string") stack.push(c);
    }
  }
}

/** textContent is an element's string value: its descendant text in document order. */
export function textContent(n: XmlNode): string {
  let out = "";
  const stack: Item[] = [n];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (typeof e === "string") out += e;
    else for (let i = e.children.length - 1; i >= 0; i--) stack.push(e.children[i]!);
  }
  return out;
}

/** contents computes the string value of every element in nodes and below, bottom-up with a
 * memo: nested results (`//*` on a deep document) cost one walk, and V8 joins the strings as
 * ropes, so the work stays linear in the document (reading each value out is the caller's). */
function contents(nodes: readonly XmlNode[]): Map<XmlNode, string> {
  const memo = new Map<XmlNode, string>();
  // A node is pushed once to be expanded and once more (after its children) to be summed.
  const stack: [XmlNode, boolean][] = [];
  for (const n of nodes) {
    stack.push([n, false]);
    while (stack.length > 0) {
      const [e, summed] = stack.pop()!;
      if (memo.has(e)) continue;
      if (summed) {
        let out = "";
        for (const c of e.children) out += typeof c === "string" ? c : memo.get(c)!;
        memo.set(e, out);
        continue;
      }
      stack.push([e, true]);
      for (const c of e.children) if (typeof c !== "string" && !memo.has(c)) stack.push([c, false]);
    }
  }
  return memo;
}

/** xpath evaluates expr on doc to the matched nodes' string values. */
export function xpath(doc: XmlNode, expr: string): string[] {
  const steps = compileXPath(expr);
  // The document node: a parent whose one child is the root element.
  let context: Item[] = [{ name: "", attributes: [], children: [doc] }];
  for (const step of steps) {
    const seen = new Set<Item>();
    // Only several context nodes can nest (and so be walked twice); one needs no bookkeeping.
    const visited = context.length > 1 ? new Set<XmlNode>() : undefined;
    const next: Item[] = [];
    const add = (item: Item) => {
      if (typeof item === "string" || !seen.has(item)) {
        if (typeof item !== "string") seen.add(item);
        next.push(item);
      }
    };
    for (const item of context) {
      if (typeof item === "string" || visited?.has(item)) continue;
      if (step.kind === "attribute") {
        const owners: XmlNode[] = [];
        if (step.descendant) selfAndDescendants(item, owners, visited);
        else owners.push(item);
        for (const o of owners) {
          for (const [n, v] of o.attributes) {
            // Namespace declarations are not attributes in XPath (libxml2 gives ModSecurity none).
            if (n === "xmlns" || n.startsWith("xmlns:")) continue;
            if (step.name === "*" || n === step.name) next.push(v);
          }
        }
        continue;
      }
      // Children, or (for `//`) everything below in document order, each element walked once
      // per step even when context nodes nest.
      const stack: Item[] = item.children.slice().reverse();
      while (stack.length > 0) {
        const c = stack.pop()!;
        if (typeof c === "string") {
          if (step.kind === "text" || step.kind === "node") next.push(c);
          continue;
        }
        if (step.kind === "node" || (step.kind === "element" && (step.name === "*" || c.name === step.name)))
          add(c);
        if (!step.descendant || visited?.has(c)) continue;
        visited?.add(c);
        for (let i = c.children.length - 1; i >= 0; i--) stack.push(c.children[i]!);
      }
    }
    context = next;
  }
  const elements = context.filter((item): item is XmlNode => typeof item !== "string");
  // One element (`/*`, the common case) needs no memo; several may nest, so share the work.
  if (elements.length === 1)
    return context.map((item) => (typeof item === "string" ? item : textContent(item)));
  const memo = contents(elements);
  return context.map((item) => (typeof item === "string" ? item : memo.get(item)!));
}
