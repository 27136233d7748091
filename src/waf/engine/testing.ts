// testing.ts: small stand-ins for src/waf/ops and src/waf/body, for the engine's unit tests only.
// Written as a stand-in until the real modules merged (branches waf-ops, waf-body); the unit tests
// keep them so they test the engine alone (and count transformation calls), while crs.test.ts
// runs the real modules. Just enough to drive the engine: a few transformations and operators, a
// query/urlencoded/cookie parser and a flat JSON processor.
import type { BodyProcessors, BodyResult, Pair } from "../body/types.ts";
import { WafLangError, type Location } from "../lang/errors.ts";
import type { Operator, Template } from "../lang/model.ts";
import type { CompiledOperator, OperatorContext, OpsFactory, Transform } from "../ops/types.ts";
import { compile } from "../rx/index.ts";

/** transformCalls counts how often each stand-in transformation ran (the cache test reads it). */
export const transformCalls = new Map<string, number>();

const TRANSFORMS: Record<string, Transform> = {
  lowercase: (v) => v.toLowerCase(),
  uppercase: (v) => v.toUpperCase(),
  urlDecode: (v) => urlDecode(v),
  urlDecodeUni: (v) => urlDecode(v),
  trim: (v) => v.trim(),
  removeWhitespace: (v) => v.replace(/\s+/g, ""),
  length: (v) => String(v.length),
};

/** urlDecode decodes %XX and `+` byte-wise (binary strings in, binary strings out). */
export function urlDecode(v: string): string {
  return v
    .replace(/\+/g, " ")
    .replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function textArg(op: Operator): Template {
  return op.arg.kind === "template" ? op.arg.template : { raw: op.raw, parts: [op.raw] };
}

function numberArg(op: Operator, ctx: OperatorContext): number {
  if (op.arg.kind === "number") return op.arg.value;
  return Number(ctx.expand(textArg(op)));
}

type Test = (v: string, ctx: OperatorContext) => string | false;

function operator(op: Operator, at: Location, ruleId: number): Test {
  const text = (ctx: OperatorContext) => ctx.expand(textArg(op));
  switch (op.name) {
    case "rx": {
      const re = compile(op.arg.kind === "regex" ? op.arg.pattern : op.raw);
      return (v, ctx) => {
        const m = re.exec(Buffer.from(v, "latin1"));
        if (!m) return false;
        if (ctx.captures) for (const c of m.captures) ctx.captures.push(c ? c.toString("latin1") : "");
        return (m.captures[0] ?? Buffer.alloc(0)).toString("latin1");
      };
    }
    case "pm": {
      const phrases = op.arg.kind === "phrases" ? op.arg.phrases.map((p) => p.toLowerCase()) : [];
      return (v, ctx) => {
        const lower = v.toLowerCase();
        const p = phrases.find((x) => lower.includes(x));
        if (p !== undefined && ctx.captures) ctx.captures.push(p);
        return p ?? false;
      };
    }
    case "streq":
      return (v, ctx) => (v === text(ctx) ? v : false);
    case "contains":
      return (v, ctx) => (v.includes(text(ctx)) ? text(ctx) : false);
    case "beginsWith":
      return (v, ctx) => (v.startsWith(text(ctx)) ? text(ctx) : false);
    case "within":
      return (v, ctx) => (text(ctx).includes(v) ? v : false);
    case "eq":
      return (v, ctx) => (Number(v) === numberArg(op, ctx) ? v : false);
    case "ge":
      return (v, ctx) => (Number(v) >= numberArg(op, ctx) ? v : false);
    case "gt":
      return (v, ctx) => (Number(v) > numberArg(op, ctx) ? v : false);
    case "lt":
      return (v, ctx) => (Number(v) < numberArg(op, ctx) ? v : false);
    case "le":
      return (v, ctx) => (Number(v) <= numberArg(op, ctx) ? v : false);
    case "unconditionalMatch":
      return (v) => v;
    case "noMatch":
      return () => false;
  }
  throw new WafLangError("WAF_LANG_UNKNOWN_OPERATOR", at, `@${op.name} is not in the test stand-in`, ruleId);
}

/** testOps is the stand-in OpsFactory. */
export const testOps: OpsFactory = {
  transformation(name) {
    const f = TRANSFORMS[name];
    if (!f) return undefined;
    return (v) => {
      transformCalls.set(name, (transformCalls.get(name) ?? 0) + 1);
      return f(v);
    };
  },
  compileOperator(op, at, ruleId): CompiledOperator {
    const t = operator(op, at, ruleId);
    return {
      name: op.name,
      test: (v, ctx) => {
        const m = t(v, ctx);
        return m === false ? false : { matched: m };
      },
    };
  },
};

function parseQuery(text: string): { pairs: Pair[]; invalid: boolean } {
  const pairs: Pair[] = [];
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    pairs.push(
      eq < 0 ? [urlDecode(part), ""] : [urlDecode(part.slice(0, eq)), urlDecode(part.slice(eq + 1))],
    );
  }
  return { pairs, invalid: /%(?![0-9a-fA-F]{2})/.test(text) };
}

function flatten(prefix: string, v: unknown, out: Pair[]): void {
  if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) flatten(`${prefix}.${k}`, x, out);
  } else out.push([prefix, String(v)]);
}

/** testBody is the stand-in BodyProcessors. */
export const testBody: BodyProcessors = {
  parseQuery,
  parseCookies(values) {
    const out: Pair[] = [];
    for (const v of values) {
      for (const c of v.split(";")) {
        const eq = c.indexOf("=");
        if (c.trim() === "") continue;
        out.push(eq < 0 ? [c.trim(), ""] : [c.slice(0, eq).trim(), c.slice(eq + 1)]);
      }
    }
    return out;
  },
  processorFor(ct) {
    const t = (ct ?? "").split(";")[0]?.trim().toLowerCase();
    if (t === "application/x-www-form-urlencoded") return "URLENCODED";
    if (t === "multipart/form-data") return "MULTIPART";
    return undefined;
  },
  parseBody(processor, text, _ct, limits): BodyResult {
    if (processor === "URLENCODED")
      return { args: parseQuery(text).pairs.slice(0, limits.maxArgs), files: [], flags: {} };
    if (processor === "JSON") {
      const args: Pair[] = [];
      try {
        flatten("json", JSON.parse(text), args);
      } catch (err) {
        return { args, files: [], flags: {}, error: (err as Error).message };
      }
      return { args, files: [], flags: {} };
    }
    return { args: [], files: [], flags: {}, error: `${processor} is not in the test stand-in` };
  },
  xpath() {
    return [];
  },
};
