// op-rx.ts: @rx on src/waf/rx (linear time on bytes; compiled with (?sm) as ModSecurity v3 and
// Coraza do: '.' takes newlines, ^ $ match at line ends), and the number verifiers that first find
// candidates with a regex: @verifyCC (Luhn), @verifySSN, @verifyCPF.
import type { Operator } from "../lang/model.ts";
import { compile, type Regex } from "../rx/index.ts";
import type { CompiledOperator, OperatorContext, OperatorResult } from "./types.ts";

/** RX_FLAGS are the flags every rule regex compiles with. */
export const RX_FLAGS = "sm";

/** compileRx compiles @rx; with `capture` the match and groups 1–9 fill ctx.captures[0..9]. */
export function compileRx(op: Operator): CompiledOperator {
  const pattern = op.arg.kind === "regex" ? op.arg.pattern : op.raw;
  if (pattern === WHOLE) return wholeValue(op.name);
  const re = compile(pattern, RX_FLAGS, { prefilter: true });
  const groups = Math.min(re.groupCount, 9);
  return {
    name: op.name,
    pure: true,
    ...(re.prefilter ? { prefilter: re.prefilter } : {}),
    test(value: string, ctx: OperatorContext): OperatorResult {
      const caps = ctx.captures;
      if (caps === undefined) return re.testBinary(value) ? { matched: value } : false;
      const m = re.execBinary(value);
      if (m === null) return false;
      for (let i = 0; i <= groups; i++) caps[i] = m.captures[i] ?? "";
      return { matched: m.captures[0] ?? "" };
    },
  };
}

/** WHOLE matches any value as a whole under (?sm) — '.' takes newlines, the greedy star runs to
 * the end where '$' holds — so its leftmost-first match is the value itself. */
const WHOLE = "^.*$";

/** wholeValue is @rx ^.*$ without the regex engine: CRS 920450 captures every request header
 * name with it, which took the Pike VM on each name of each request. */
function wholeValue(name: string): CompiledOperator {
  return {
    name,
    pure: true,
    test(value: string, ctx: OperatorContext): OperatorResult {
      if (ctx.captures !== undefined) ctx.captures[0] = value;
      return { matched: value };
    },
  };
}

function digits(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d >= 0 && d <= 9) out.push(d);
  }
  return out;
}

/** luhn is the credit-card checksum over the digits of s (other bytes ignored). */
export function luhn(s: string): boolean {
  const d = digits(s);
  if (d.length === 0) return false;
  let sum = 0;
  for (let k = 0; k < d.length; k++) {
    let v = d[d.length - 1 - k]!;
    if (k % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return sum % 10 === 0;
}

/** ssn checks a US social security number as ModSecurity: 9 digits, not all one digit nor an
 * ascending run, area not 000, 666 or ≥ 740, group not 00, serial not 0000. */
export function ssn(s: string): boolean {
  const d = digits(s);
  if (d.length !== 9) return false;
  let seq = 0;
  let rep = 0;
  for (let i = 0; i < 8; i++) {
    if (d[i] === d[i + 1]! - 1) seq++;
    if (d[i] === d[i + 1]) rep++;
  }
  if (seq === 8 || rep === 8) return false;
  const area = d[0]! * 100 + d[1]! * 10 + d[2]!;
  const group = d[3]! * 10 + d[4]!;
  const serial = d[5]! * 1000 + d[6]! * 100 + d[7]! * 10 + d[8]!;
  return area !== 0 && area !== 666 && area < 740 && group !== 0 && serial !== 0;
}

/** cpf checks a Brazilian CPF: 11 digits, not all one digit nor 01234567890, both mod-11 check digits. */
export function cpf(s: string): boolean {
  const d = digits(s);
  if (d.length !== 11 || d.every((x) => x === d[0]) || d.join("") === "01234567890") return false;
  const check = (len: number): number => {
    let sum = 0;
    for (let i = 0; i < len; i++) sum += d[i]! * (len + 1 - i);
    const r = sum % 11;
    return r < 2 ? 0 : 11 - r;
  };
  return check(9) === d[9] && check(10) === d[10];
}

const VERIFIERS: Readonly<Record<string, (s: string) => boolean>> = {
  verifyCC: luhn,
  verifySSN: ssn,
  verifyCPF: cpf,
};

/** VERIFY_OPERATORS are the verifiers' names. */
export const VERIFY_OPERATORS: readonly string[] = Object.keys(VERIFIERS);

/** compileVerify compiles a verifier: every regex match (from each start offset on) is checked
 * until one passes; that one is the match reported and captured. */
export function compileVerify(op: Operator): CompiledOperator {
  const re: Regex = compile(op.arg.kind === "regex" ? op.arg.pattern : op.raw, RX_FLAGS);
  const verify = VERIFIERS[op.name]!;
  return {
    name: op.name,
    test(value: string, ctx: OperatorContext): OperatorResult {
      for (let from = 0; from < value.length;) {
        const rest = from === 0 ? value : value.slice(from);
        const m = re.execBinary(rest);
        if (m === null) return false;
        const found = m.captures[0] ?? "";
        if (verify(found)) {
          if (ctx.captures !== undefined) ctx.captures[0] = found;
          return { matched: found };
        }
        from += m.index + 1;
      }
      return false;
    },
  };
}
