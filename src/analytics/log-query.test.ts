import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLogQuery, QueryError } from "./log-query.ts";

const NOW = Date.UTC(2026, 11, 7, 6, 0, 0);
const parse = (s: string) => parseLogQuery(new URLSearchParams(s), NOW);

test("parseLogQuery reads every filter", () => {
  assert.deepEqual(parse(""), { limit: 100 });
  assert.deepEqual(
    parse(
      "vs=L+a.example.com&reason=slow,5xx&reason=reset&status=5XX&route=R&client=192.0.2.1&q=cart&since=10m&until=2026-12-07T05:59:00Z&before=1765087000000&limit=1000",
    ),
    {
      limit: 1000,
      vs: "L a.example.com",
      route: "R",
      client: "192.0.2.1",
      q: "cart",
      reasons: ["slow", "5xx", "reset"],
      status: "5xx",
      since: NOW - 600_000,
      until: NOW - 60_000,
      before: 1765087000000,
    },
  );
  assert.equal(parse("status=503").status, 503);
  assert.equal(parse("since=7d").since, NOW - 7 * 86_400_000);
});

test("parseLogQuery refuses bad input, saying what to send", () => {
  const cases: [string, RegExp][] = [
    ["limit=0", /limit="0": give a whole number from 1 to 1000/],
    ["limit=1001", /from 1 to 1000/],
    ["limit=ten", /from 1 to 1000/],
    ["status=6xx", /give a code \(503\) or a class/],
    ["status=700", /give a code/],
    ["reason=boom", /reason="boom": give one or more of 5xx, reset, timeout, slow, policy, waf, full/],
    [
      "since=yesterday",
      /since="yesterday": give a duration before now \(10m, 2h, 7d\), an RFC 3339 time or ms since the epoch/,
    ],
    ["stauts=500", /unknown parameter "stauts"; known: vs, reason/],
  ];
  for (const [q, want] of cases)
    assert.throws(
      () => parse(q),
      (e: unknown) => e instanceof QueryError && e.code === "PORTICO_ANALYTICS_QUERY" && want.test(e.message),
      q,
    );
});
