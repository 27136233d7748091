// warm-up.ts: a freshly compiled program is slow on its first transactions — V8 has not optimised
// the rule loop yet and every @rx pattern's lazy DFA starts with no states — so the first real
// requests after a policy change could spend the whole time budget and, under FailOpen, pass
// partly uninspected. warmUp runs a few ordinary exchanges (a browser GET with a query, a form
// POST, a JSON POST) through the program before it serves, until one round finishes within the
// budget (or the rounds run out), so the cost is paid by the compile, not by traffic.
import type { ConnInfo, RequestHead, ResponseHead, WafProgram } from "./types.ts";

/** WarmUpResult says how long warming took and whether the last round fitted the budget. */
export interface WarmUpResult {
  rounds: number;
  ms: number;
  /** withinBudget: the last round's transactions all finished inside the program's budget. */
  withinBudget: boolean;
  /** interrupted counts warm-up exchanges the rules stopped: ordinary traffic should pass, so a
   * non-zero count means the warm-up took paths clean requests do not (or the policy blocks them). */
  interrupted: number;
}

const HEADERS: [string, string][] = [
  ["Host", "warm-up.portico.invalid"],
  ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"],
  ["Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
  ["Accept-Language", "en-GB,en;q=0.5"],
  ["Accept-Encoding", "gzip, deflate, br"],
  ["Referer", "https://warm-up.portico.invalid/products"],
  ["Cookie", "session=3f9a1c2e7b4d8f60; theme=dark"],
];

const FORM = "name=Ada+Lovelace&email=ada%40example.com&comment=Hello%2C+world%21&qty=2";
const JSON_BODY = '{"name":"Ada","tags":["a","b"],"address":{"city":"London","zip":"N1"}}';

// EXCHANGES are ordinary requests: the paths clean traffic takes through the rules.
const EXCHANGES: { head: RequestHead; body: Buffer }[] = [
  {
    head: {
      method: "GET",
      uri: "/products/list?page=2&sort=price&q=blue+shoes",
      protocol: "HTTP/1.1",
      headers: HEADERS,
    },
    body: Buffer.alloc(0),
  },
  {
    head: {
      method: "POST",
      uri: "/form",
      protocol: "HTTP/1.1",
      headers: [
        ...HEADERS,
        ["Content-Type", "application/x-www-form-urlencoded"],
        ["Content-Length", String(FORM.length)],
      ],
    },
    body: Buffer.from(FORM, "latin1"),
  },
  {
    head: {
      method: "POST",
      uri: "/api/items",
      protocol: "HTTP/1.1",
      headers: [
        ...HEADERS,
        ["Content-Type", "application/json"],
        ["Content-Length", String(JSON_BODY.length)],
      ],
    },
    body: Buffer.from(JSON_BODY, "latin1"),
  },
];

const RESPONSE: ResponseHead = {
  status: 200,
  protocol: "HTTP/1.1",
  headers: [
    ["Content-Type", "text/html; charset=utf-8"],
    ["Content-Length", "512"],
  ],
};

/** MAX_ROUNDS bounds the warm-up (a round is one transaction per exchange). */
const MAX_ROUNDS = 8;

/** warmUp runs ordinary exchanges through program until a round fits its budget (see above). */
export function warmUp(program: WafProgram, now = Date.now()): WarmUpResult {
  const started = performance.now();
  const conn: ConnInfo = {
    id: "portico-warm-up",
    clientAddress: "192.0.2.1",
    clientPort: 40000,
    serverAddress: "192.0.2.2",
    serverPort: 80,
    now,
  };
  let rounds = 0;
  let within = false;
  let interrupted = 0;
  while (rounds < MAX_ROUNDS && !within) {
    rounds++;
    within = true;
    for (const x of EXCHANGES) {
      const tx = program.newTransaction(conn);
      let r = tx.requestHeaders(x.head);
      if (!r.interruption) r = tx.requestBody(x.body, false);
      if (!r.interruption) r = tx.responseHeaders(RESPONSE);
      if (r.interruption) interrupted++;
      if (tx.logging().overBudget === true) within = false;
    }
  }
  return { rounds, ms: performance.now() - started, withinBudget: within, interrupted };
}
