// ui-routes.ts: the Portico console's files on the admin address — `/` is the page, `/ui/NAME` its
// modules and styles (src/ui, plain browser JavaScript: nothing to build), `/ui/vendor/*` uPlot
// from node_modules. Every file is read and compressed once (gzip and brotli), then answered from
// memory with a strong ETag: the console is small (docs/console.md gives the sizes), and an admin
// address must not do file-system work a request names. Only names in the table answer, so no
// path can leave the directory.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

/** Asset is one console file, ready to send in every encoding. */
export interface Asset {
  type: string;
  raw: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
};

/** UI_DIR holds the console's files: beside src/api in the sources and in the build (build.sh copies it). */
export const UI_DIR = join(import.meta.dirname, "..", "ui");

/** uplotDir finds node_modules/uplot/dist above this file (sources, .cache/dist, the image's dist/). */
function uplotDir(): string | undefined {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const d = join(dir, "node_modules", "uplot", "dist");
    if (existsSync(join(d, "uPlot.esm.js"))) return d;
    if (dirname(dir) === dir) return undefined;
  }
}

function asset(file: string): Asset {
  const raw = readFileSync(file);
  const ext = file.slice(file.lastIndexOf(".") + 1);
  return {
    type: TYPES[ext] ?? "application/octet-stream",
    raw,
    gzip: gzipSync(raw, { level: 9 }),
    br: brotliCompressSync(raw, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }),
    etag: `"${createHash("sha256").update(raw).digest("base64url").slice(0, 22)}"`,
  };
}

let cached: Map<string, Asset> | undefined;

/** consoleAssets maps every URL path the console answers to its file, built once on first use. */
export function consoleAssets(): Map<string, Asset> {
  if (cached) return cached;
  const m = new Map<string, Asset>();
  for (const name of readdirSync(UI_DIR)) {
    if (!/^[a-z0-9-]+\.(js|css|html|png|svg)$/.test(name) || name.endsWith(".test.js")) continue;
    m.set(name === "index.html" ? "/" : `/ui/${name}`, asset(join(UI_DIR, name)));
  }
  const vendor = uplotDir();
  if (vendor)
    for (const name of ["uPlot.esm.js", "uPlot.min.css"])
      m.set(`/ui/vendor/${name}`, asset(join(vendor, name)));
  cached = m;
  return m;
}

/** encodingFor picks br, then gzip, when accept-encoding allows it (q=0 refuses). */
export function encodingFor(accept: string | undefined): "br" | "gzip" | undefined {
  const ok = new Set<string>();
  for (const part of (accept ?? "").split(",")) {
    const [name = "", ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (q === undefined || Number(q) > 0) ok.add(name.trim());
  }
  if (ok.has("br")) return "br";
  if (ok.has("gzip")) return "gzip";
  return undefined;
}

/** SECURITY_HEADERS keep the page to its own origin: no framing, no foreign scripts or fetches. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** serveUi answers path if it is a console file and returns true; anything else is left to the caller. */
export function serveUi(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path !== "/" && !path.startsWith("/ui/")) return false;
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const a = consoleAssets().get(path);
  if (!a) {
    res.writeHead(404, { "content-type": "text/plain", "cache-control": "no-store" });
    res.end("no such console file\n");
    return true;
  }
  // no-cache, not max-age: the modules import each other by fixed names, so a browser must check
  // each after an upgrade; the ETag makes that check a 304 without a body.
  const common = { etag: a.etag, "cache-control": "no-cache", vary: "accept-encoding", ...SECURITY_HEADERS };
  if (req.headers["if-none-match"] === a.etag) {
    res.writeHead(304, common);
    res.end();
    return true;
  }
  const enc = encodingFor(req.headers["accept-encoding"]);
  const body = enc === "br" ? a.br : enc === "gzip" ? a.gzip : a.raw;
  res.writeHead(200, {
    ...common,
    "content-type": a.type,
    "content-length": body.length,
    ...(enc ? { "content-encoding": enc } : {}),
  });
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}
