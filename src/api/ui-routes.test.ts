import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { startAdmin, type AdminView } from "./admin.ts";
import { consoleAssets, encodingFor } from "./ui-routes.ts";

const view: AdminView = {
  readiness: () => [],
  statuses: () => [],
  errors: () => ({}),
  metrics: () => "portico_up 1\n",
  inspect: () => undefined,
};

let server: Awaited<ReturnType<typeof startAdmin>>["server"];
let base: string;
before(async () => {
  ({ server, url: base } = await startAdmin(view, "127.0.0.1", 0, { console: true }));
});
after(() => server.close());

/** raw sends path exactly as written (fetch would normalise "..") and answers status, headers, body. */
function raw(path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(base);
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

test("/ is the console page; its modules, styles and uPlot answer with their content types", async () => {
  const page = await raw("/");
  assert.equal(page.status, 200);
  assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
  assert.match(page.body.toString(), /<script type="module" src="\/ui\/app.js">/);
  assert.match(String(page.headers["content-security-policy"]), /default-src 'self'/);
  for (const [path, type] of [
    ["/ui/app.js", "text/javascript; charset=utf-8"],
    ["/ui/console.css", "text/css; charset=utf-8"],
    ["/ui/vendor/uPlot.esm.js", "text/javascript; charset=utf-8"],
    ["/ui/vendor/uPlot.min.css", "text/css; charset=utf-8"],
  ]) {
    const r = await raw(path!);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers["content-type"], type, path);
    assert.equal(r.headers["x-content-type-options"], "nosniff");
  }
});

test("every module the console imports is served (no import resolves to a 404)", async () => {
  const assets = consoleAssets();
  for (const [path, a] of assets) {
    if (!path.endsWith(".js") || path.includes("/vendor/")) continue;
    for (const m of a.raw.toString().matchAll(/^import .* from "\.\/([^"]+)";$/gm)) {
      const target = `/ui/${m[1]}`;
      assert.ok(assets.has(target), `${path} imports ${target}, which is not served`);
    }
  }
});

test("br or gzip when the client accepts it, identity otherwise; the bodies decode to the file", async () => {
  const file = consoleAssets().get("/ui/app.js")!.raw;
  const br = await raw("/ui/app.js", { "accept-encoding": "gzip, deflate, br" });
  assert.equal(br.headers["content-encoding"], "br");
  assert.equal(br.headers.vary, "accept-encoding");
  assert.deepEqual(brotliDecompressSync(br.body), file);
  const gz = await raw("/ui/app.js", { "accept-encoding": "gzip" });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.deepEqual(gunzipSync(gz.body), file);
  const plain = await raw("/ui/app.js", { "accept-encoding": "br;q=0, identity" });
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.deepEqual(plain.body, file);
  assert.equal(encodingFor("gzip;q=0.5, br;q=0"), "gzip");
  assert.equal(encodingFor(undefined), undefined);
});

test("ETag: a matching If-None-Match is a 304 without a body; HEAD has headers only", async () => {
  const first = await raw("/ui/lib.js");
  const etag = String(first.headers.etag);
  assert.match(etag, /^"[\w-]{22}"$/);
  assert.equal(first.headers["cache-control"], "no-cache");
  const again = await raw("/ui/lib.js", { "if-none-match": etag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const other = await raw("/ui/lib.js", { "if-none-match": '"something-else"' });
  assert.equal(other.status, 200);
  const head = await fetch(`${base}/ui/lib.js`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("etag"), etag);
  assert.equal((await head.arrayBuffer()).byteLength, 0);
});

test("no path leaves the console's files: traversal, encoded or not, is a 404", async () => {
  for (const path of [
    "/ui/../admin.ts",
    "/ui/../../package.json",
    "/ui/%2e%2e/admin.ts",
    "/ui/..%2f..%2fpackage.json",
    "/ui/vendor/../../../package.json",
    "/ui/vendor/uPlot.cjs.js",
    "/ui//etc/passwd",
    "/ui/lib.js/",
    "/ui/",
    "/ui/ui-routes.ts",
  ]) {
    const r = await raw(path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body.toString(), /"name": "portico"|root:x:0/, path);
  }
});

test("the console's assets stay within 300 KiB compressed in total", () => {
  let rawTotal = 0;
  let brTotal = 0;
  let gzTotal = 0;
  for (const a of consoleAssets().values()) {
    rawTotal += a.raw.length;
    brTotal += a.br.length;
    gzTotal += a.gzip.length;
  }
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  process.stderr.write(`console assets: ${kib(rawTotal)} raw, ${kib(gzTotal)} gzip, ${kib(brTotal)} br\n`);
  // gzip is the larger of the two encodings every browser accepts: the budget holds for it.
  assert.ok(gzTotal <= 300 * 1024, `console assets are ${kib(gzTotal)} gzip, over the 300 KiB budget`);
});
