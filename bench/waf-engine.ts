// waf-engine.ts: a CPU microbenchmark of the WAF rule engine alone — the CRS at paranoia level 1
// (bench/waf-configs.ts's BENCH_WAF, compiled through the data plane's own path) run in-process,
// no sockets: newTransaction → requestHeaders → requestBody → responseHeaders (→ responseBody) → logging, for a
// clean browser-like GET, the same GET with new argument and cookie values each time (what the
// value cache cannot have seen), a 4 KiB urlencoded POST (90 arguments) and an XSS GET. Prints CPU µs per
// transaction (median of rounds) and per phase. Not a test: figures depend on the machine.
//   sh scripts/node.sh bench/waf-engine.ts [--n=400] [--rounds=7] [--case=get|get-fresh|post|xss|wrk-get|wrk-post]
// Profile: sh scripts/node.sh --cpu-prof --cpu-prof-dir=.cache/prof bench/waf-engine.ts --case=get
import { wafProgram } from "../src/engine/l7/waf-program.ts";
import type { ConnInfo, RequestHead, ResponseHead, WafProgram } from "../src/waf/engine/types.ts";
import { BENCH_HOST, BENCH_WAF, GET_PATH, postBody } from "./waf-configs.ts";

interface Case {
  name: string;
  head: RequestHead;
  /** fresh: each transaction's query and cookie values are new (never seen by the program's
   * value cache), the cache's cold path; the other cases repeat one request. */
  fresh?: boolean;
  body: Buffer;
  /** blocked: the CRS must block it (a check that the program is the real one); a case not
   * blocked must log no hit either (a clean request: no rule matches). */
  blocked: boolean;
  /** response and responseBody: the backend's answer, phase 4 run on the body as the data plane
   * runs it (a text type, the policy inspecting response bodies); RESPONSE without a body else. */
  response?: ResponseHead;
  responseBody?: Buffer;
}

const BROWSER: [string, string][] = [
  ["Host", "shop.example.com"],
  ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"],
  ["Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"],
  ["Accept-Language", "en-GB,en;q=0.5"],
  ["Accept-Encoding", "gzip, deflate, br"],
  ["Referer", "https://shop.example.com/products"],
  ["Connection", "keep-alive"],
  ["Cookie", "session=3f9a1c2e7b4d8f60; theme=dark"],
  ["Upgrade-Insecure-Requests", "1"],
  ["Sec-Fetch-Dest", "document"],
  ["Sec-Fetch-Mode", "navigate"],
];

/** NGINX_RESPONSE is what `npm run bench:waf`'s backend answers (bench/configs.ts backendConfig). */
const NGINX_RESPONSE: ResponseHead = {
  status: 200,
  protocol: "HTTP/1.1",
  headers: [
    ["Server", "nginx/1.22.1"],
    ["Date", "Mon, 07 Dec 2026 21:00:00 GMT"],
    ["Content-Type", "text/plain"],
    ["Content-Length", "13"],
    ["Connection", "keep-alive"],
  ],
};

/** CASES are (a) the clean GET, (b) the 4 KiB form POST, (c) an XSS GET, and the requests of
 * `npm run bench:waf` as wrk sends them with the backend's answer, phases 1–5 (wrk-get, wrk-post). */
export function cases(): Case[] {
  const form = postBody(4096);
  const wrk = {
    response: NGINX_RESPONSE,
    responseBody: Buffer.from("hello, world\n"),
    blocked: false,
  };
  return [
    {
      name: "wrk-get",
      head: { method: "GET", uri: GET_PATH, protocol: "HTTP/1.1", headers: [["Host", BENCH_HOST]] },
      body: Buffer.alloc(0),
      ...wrk,
    },
    {
      name: "wrk-post",
      head: {
        method: "POST",
        uri: "/form",
        protocol: "HTTP/1.1",
        headers: [
          ["Host", BENCH_HOST],
          ["Content-Length", String(form.length)],
          ["Content-Type", "application/x-www-form-urlencoded"],
        ],
      },
      body: Buffer.from(form, "latin1"),
      ...wrk,
    },
    {
      name: "get",
      head: { method: "GET", uri: GET_PATH, protocol: "HTTP/1.1", headers: BROWSER },
      body: Buffer.alloc(0),
      blocked: false,
    },
    {
      name: "post",
      head: {
        method: "POST",
        uri: "/form",
        protocol: "HTTP/1.1",
        headers: [
          ...BROWSER,
          ["Content-Type", "application/x-www-form-urlencoded"],
          ["Content-Length", String(form.length)],
        ],
      },
      body: Buffer.from(form, "latin1"),
      blocked: false,
    },
    {
      name: "get-fresh",
      head: { method: "GET", uri: GET_PATH, protocol: "HTTP/1.1", headers: BROWSER },
      body: Buffer.alloc(0),
      blocked: false,
      fresh: true,
    },
    {
      name: "xss",
      head: {
        method: "GET",
        uri: "/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E&page=2",
        protocol: "HTTP/1.1",
        headers: BROWSER,
      },
      body: Buffer.alloc(0),
      blocked: true,
    },
  ];
}

/** RESPONSE and conn are the same for every case (waf-engine-ab.ts uses them too). */
export const RESPONSE: ResponseHead = {
  status: 200,
  protocol: "HTTP/1.1",
  headers: [
    ["Content-Type", "text/html; charset=utf-8"],
    ["Content-Length", "5120"],
    ["Cache-Control", "no-cache"],
  ],
};

export const conn: ConnInfo = {
  id: "bench-1",
  clientAddress: "192.0.2.10",
  clientPort: 50000,
  serverAddress: "127.0.0.1",
  serverPort: 80,
  now: Date.UTC(2026, 11, 6),
};

let serial = 0;

/** headOf is c's request for one transaction: a fresh case gets new argument and cookie values
 * (the headers' other values repeat, as a browser's do). */
export function headOf(c: Case): RequestHead {
  if (!c.fresh) return c.head;
  const n = ++serial;
  const token = (n * 2654435761).toString(16).padStart(8, "0");
  return {
    ...c.head,
    uri: `/products/view?id=${n}&lang=en&ref=${token}`,
    headers: c.head.headers.map(([k, v]) =>
      k === "Cookie" ? [k, `session=${token}${token}; theme=dark`] : [k, v],
    ),
  };
}

/** PhaseTimes are µs spent in each step of one or more transactions. */
interface PhaseTimes {
  total: number;
  p1: number;
  p2: number;
  p3: number;
  log: number;
}

function once(program: WafProgram, c: Case, t: PhaseTimes): boolean {
  const t0 = performance.now();
  const tx = program.newTransaction(conn);
  let r = tx.requestHeaders(headOf(c));
  const t1 = performance.now();
  if (!r.interruption) r = tx.requestBody(c.body, false);
  const t2 = performance.now();
  if (!r.interruption) r = tx.responseHeaders(c.response ?? RESPONSE);
  if (!r.interruption && c.responseBody !== undefined && tx.wantsResponseBody)
    tx.responseBody(c.responseBody, false);
  const t3 = performance.now();
  const log = tx.logging();
  const t4 = performance.now();
  t.p1 += t1 - t0;
  t.p2 += t2 - t1;
  t.p3 += t3 - t2;
  t.log += t4 - t3;
  t.total += t4 - t0;
  return log.interruption !== undefined || log.hits.length > 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function arg(name: string, def: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
}

function main(): void {
  const n = Number(arg("n", "300"));
  const rounds = Number(arg("rounds", "7"));
  const only = arg("case", "");
  const started = performance.now();
  const entry = wafProgram({ ...BENCH_WAF, key: "bench-engine", budgetMs: 10_000 }, () => {});
  if (!entry.program) throw new Error(`the CRS program did not compile: ${entry.errors.join("; ")}`);
  const program = entry.program;
  console.log(
    `CRS PL1: ${program.ruleCount} rules, compiled in ${Math.round(performance.now() - started)} ms; n=${n} rounds=${rounds}`,
  );
  for (const c of cases()) {
    if (only && c.name !== only) continue;
    // Warm-up, so the figures are of optimised code (a cold first run can overrun the budget).
    const warm = { total: 0, p1: 0, p2: 0, p3: 0, log: 0 };
    for (let i = 0; i < n; i++) once(program, c, warm);
    const blocked = once(program, c, warm);
    if (blocked !== c.blocked)
      throw new Error(
        `${c.name}: ${blocked ? "blocked or flagged (a rule hit)" : "not blocked"}, expected ${c.blocked ? "blocked" : "clean"}`,
      );
    // The machine is shared: wall-clock time counts other processes' turns, so the total is the
    // process's CPU time (user+system) per transaction and the phases split it in the proportions
    // of their wall-clock times.
    const cpu: number[] = [];
    const per: PhaseTimes[] = [];
    for (let r = 0; r < rounds; r++) {
      const t = { total: 0, p1: 0, p2: 0, p3: 0, log: 0 };
      const before = process.cpuUsage();
      for (let i = 0; i < n; i++) once(program, c, t);
      const used = process.cpuUsage(before);
      cpu.push((used.user + used.system) / n);
      per.push(t);
    }
    const total = median(cpu);
    const share = (k: keyof PhaseTimes) => median(per.map((t) => t[k] / t.total));
    const us = (k: keyof PhaseTimes) => (share(k) * total).toFixed(0);
    console.log(
      `${c.name.padEnd(8)} ${total.toFixed(0).padStart(6)} µs CPU/tx  (phase1 ${us("p1")}, phase2 ${us("p2")}, phase3${c.responseBody ? "+4" : ""} ${us("p3")}, logging ${us("log")})${c.blocked ? " blocked" : ""}`,
    );
  }
}

if (process.argv[1]?.endsWith("waf-engine.ts")) main();
