// parse.test.ts: the parsers on output captured from wrk 4.1, h2load 1.52 and iperf3 3.12.
import assert from "node:assert/strict";
import { test } from "node:test";
import { durationMs, parseH2load, parseIperf3, parseSTime, parseWrk } from "./parse.ts";

const WRK_KA = `Running 1s test @ http://127.0.0.10:8000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.14ms    4.02ms  29.69ms   89.30%
    Req/Sec    29.40k     6.83k   36.73k    60.00%
  Latency Distribution
     50%  812.00us
     75%    4.22ms
     90%    7.29ms
     99%    1.06s
  29260 requests in 1.00s, 3.82MB read
Requests/sec:  29227.15
Transfer/sec:      3.82MB
`;

const WRK_CLOSE_ERRORS = `Running 1s test @ http://127.0.0.10:8000/
  1 threads and 64 connections
  Latency Distribution
     50%    3.44ms
     75%    6.12ms
     90%   10.06ms
     99%   45.02ms
  11229 requests in 1.00s, 1.67MB read
  Socket errors: connect 2, read 11229, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:  11212.52
`;

const WRK_NOTHING = `Running 2s test @ https://127.0.0.12:8443/
  1 threads and 64 connections
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 2.00s, 0.00B read
  Socket errors: connect 0, read 64, write 0, timeout 0
Requests/sec:      0.00
`;

const H2LOAD = `finished in 1.04s, 10020.00 req/s, 911.89KB/s
requests: 10020 total, 10660 started, 10020 done, 10020 succeeded, 0 failed, 0 errored, 3 timeout
status codes: 10020 2xx, 0 3xx, 2 4xx, 1 5xx
traffic: 911.89KB (933780) total, 606.68KB (621240) headers (space savings 37.37%), 127.21KB (130260) data
                     min         max         mean         sd        +/- sd
time for request:    10.07ms    199.45ms     59.21ms     40.30ms    78.99%
`;

const H2LOAD_NOTHING = `finished in 2.01s, 0.00 req/s, 0B/s
requests: 0 total, 640 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
                     min         max         mean         sd        +/- sd
time for request:        0us         0us         0us         0us     0.00%
`;

test("durationMs converts every wrk unit", () => {
  assert.equal(durationMs("812.00us"), 0.812);
  assert.equal(durationMs("4.22ms"), 4.22);
  assert.equal(durationMs("1.06s"), 1060);
  assert.equal(durationMs("2.00m"), 120000);
  assert.throws(() => durationMs("fast"));
});

test("parseWrk reads rate and percentiles", () => {
  const r = parseWrk(WRK_KA);
  assert.equal(r.value, 29227.15);
  assert.equal(r.p50Ms, 0.812);
  assert.equal(r.p99Ms, 1060);
  assert.equal(r.errors, 0);
});

test("parseWrk counts connect/write/timeout errors and non-2xx, not read errors (Connection: close)", () => {
  const r = parseWrk(WRK_CLOSE_ERRORS);
  assert.equal(r.value, 11212.52);
  assert.equal(r.errors, 2 + 3 + 4 + 5);
});

test("parseWrk flags a run that completed no request", () => {
  const r = parseWrk(WRK_NOTHING);
  assert.equal(r.value, 0);
  assert.ok(r.errors > 0);
});

test("parseWrk throws on output without a rate", () => {
  assert.throws(() => parseWrk("unable to connect to 127.0.0.12:8000 Connection refused\n"), /no rate/);
});

test("parseH2load reads rate, mean and failures", () => {
  const r = parseH2load(H2LOAD);
  assert.equal(r.value, 10020);
  assert.equal(r.meanMs, 59.21);
  assert.equal(r.p99Ms, undefined);
  assert.equal(r.errors, 3 + 2 + 1);
  assert.ok(parseH2load(H2LOAD_NOTHING).errors > 0);
});

test("parseIperf3 reads received bits per second as Gbit/s", () => {
  const json = JSON.stringify({
    end: { sum_received: { bits_per_second: 3.68e9 }, sum_sent: { retransmits: 14 } },
  });
  assert.equal(parseIperf3(json).value, 3.68);
  assert.throws(
    () => parseIperf3(JSON.stringify({ error: "unable to connect to server" })),
    /unable to connect/,
  );
  assert.throws(() => parseIperf3("{}"), /no received/);
});

test("parseSTime sums parallel clients over the measured wall time", () => {
  const one =
    "Now timing with session id reuse.\n4149 connections in 1.09s; 3806.42 connections/user sec, bytes read 402453\n4149 connections in 4 real seconds, 97 bytes read per connection\n";
  const r = parseSTime(one + one.replace(/4149/g, "851"), 2000);
  assert.equal(r.value, (4149 + 851) / 2);
  assert.equal(r.errors, 0);
  assert.ok(parseSTime("0 connections in 0.00s; 0.00 connections/user sec, bytes read 0\n", 1000).errors > 0);
  assert.throws(() => parseSTime("connect: Connection refused\n", 1000), /no count/);
});
