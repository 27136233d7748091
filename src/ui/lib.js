// @ts-check
// lib.js: what every console page shares — the admin API client (with the token when the address
// needs one), a DOM builder that only ever sets text (never HTML: names and messages come from
// manifests anyone may write), tables, notes and formatting.

const TOKEN_KEY = "portico-admin-token";
const TENANT_KEY = "portico-tenant";

/** Unauthorized is thrown when the admin address wants a token; app.js shows the token field. */
export class Unauthorized extends Error {}

/**
 * api GETs an admin API path. Answers {status, data} for JSON, {status, text} otherwise; a 404
 * (a feature this Portico does not have) is an answer, not an error. 401 throws Unauthorized.
 * @param {string} path
 * @returns {Promise<{status: number, data?: any, text?: string}>}
 */
export async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  /** @type {Record<string, string>} */
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  // The tenant chosen in the header narrows every answer (the server filters; a scoped token is
  // narrowed whatever the page sends).
  const tenant = sessionStorage.getItem(TENANT_KEY);
  if (tenant) path += `${path.includes("?") ? "&" : "?"}tenant=${encodeURIComponent(tenant)}`;
  const res = await fetch(path, { headers, cache: "no-store" });
  if (res.status === 401) throw new Unauthorized(await res.text());
  const type = res.headers.get("content-type") ?? "";
  if (type.startsWith("application/json")) return { status: res.status, data: await res.json() };
  return { status: res.status, text: await res.text() };
}

/** setToken keeps the token for this tab only (sessionStorage: gone when the tab closes). @param {string} t */
export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t.trim());
}

/** tenant is the tenant chosen in the header for this tab ("" for all). */
export function tenant() {
  return sessionStorage.getItem(TENANT_KEY) ?? "";
}

/** setTenant narrows the console to a tenant for this tab ("" shows all). @param {string} t */
export function setTenant(t) {
  if (t) sessionStorage.setItem(TENANT_KEY, t);
  else sessionStorage.removeItem(TENANT_KEY);
}

/**
 * h builds an element: attrs set properties or attributes (on*: listeners), children are nodes or
 * text (set as text, never parsed).
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** note is a quiet explanation (an empty state, a feature not present). @param {...any} text */
export function note(...text) {
  return h("div", { class: "note" }, ...text);
}

/** errorBox shows an answer the console did not expect. @param {...any} text */
export function errorBox(...text) {
  return h("div", { class: "error" }, ...text);
}

/**
 * table lays rows out; columns are [header, cell(row) → node|text, className?].
 * @param {any[]} rows
 * @param {[string, (r: any) => any, string?][]} columns
 */
export function table(rows, columns) {
  return h(
    "table",
    null,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map(([name, , cls]) => h("th", { class: cls }, name)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((r) =>
        h(
          "tr",
          null,
          columns.map(([, cell, cls]) => h("td", { class: cls }, cell(r))),
        ),
      ),
    ),
  );
}

/** rowsTable shows /api/v1/tables rows (column → text) with their own columns. @param {Record<string, string>[]} rows */
export function rowsTable(rows) {
  if (rows.length === 0) return note("none");
  return table(
    rows,
    Object.keys(rows[0] ?? {}).map((c) => /** @type {[string, (r: any) => any]} */ ([c, (r) => r[c] ?? ""])),
  );
}

/** num formats a count or rate with at most 3 significant digits and a k/M suffix. @param {number} n */
export function num(n) {
  if (!Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  if (a === 0 || Number.isInteger(n)) return String(n);
  return n.toPrecision(3);
}

/** ms formats milliseconds. @param {number | undefined} v */
export function ms(v) {
  if (v === undefined || !Number.isFinite(v)) return "–";
  return v >= 1000 ? `${(v / 1000).toPrecision(3)} s` : `${v.toPrecision(3)} ms`;
}

/** pct formats a share (0..1). @param {number} v */
export function pct(v) {
  return Number.isFinite(v) ? `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)}%` : "–";
}

/** bytes formats a byte count. @param {number} n */
export function bytes(n) {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** score shows a 0–100 health score coloured by band. @param {number | undefined} s */
export function score(s) {
  if (s === undefined) return h("span", { class: "muted" }, "–");
  return h("span", { class: `score ${s >= 85 ? "good" : s >= 60 ? "warn" : "bad"}` }, String(Math.round(s)));
}

/** sparkline draws counts as a small SVG line (no chart library for forty numbers). @param {number[]} v */
export function sparkline(v, w = 120, hgt = 24) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", String(w));
  svg.setAttribute("height", String(hgt));
  if (v.length > 1) {
    const max = Math.max(1, ...v);
    const pts = v.map(
      (y, i) =>
        `${((i / (v.length - 1)) * (w - 2) + 1).toFixed(1)},${(hgt - 1 - (y / max) * (hgt - 2)).toFixed(1)}`,
    );
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#2f5fd0");
    line.setAttribute("stroke-width", "1.5");
    svg.append(line);
  }
  return svg;
}

/** objectName is "Kind ns/name" of a status entry. @param {{kind: string, namespace?: string, name: string}} o */
export function objectName(o) {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
}

/** listOf accepts an array answer or one wrapped in a field (the API's documents differ). @param {any} doc @param {string} field */
export function listOf(doc, field) {
  if (Array.isArray(doc)) return doc;
  if (doc && Array.isArray(doc[field])) return doc[field];
  return [];
}

/** WINDOWS are the time ranges the analytics API answers (types.ts Window). */
export const WINDOWS = ["5m", "1h", "6h", "24h", "7d", "30d"];
