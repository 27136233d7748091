// @ts-check
// service.js: one virtual service — charts of rate, errors and the latency breakdown (p50 and p99
// of every timing part) over the chosen window, its top-N lists and its kept requests with filters.
// The filters live in the page's address (#/vs/KEY?status=5xx&...), so a refresh or a shared link
// keeps them.
import { api, h, listOf, ms, note, num, table } from "./lib.js";
import { timeChart } from "./chart.js";
import { windowBar } from "./overview.js";

const PARTS = ["total", "request", "connect", "ttfb", "transfer", "handshake"];
const FILTERS = ["status", "reason", "client", "q"];
const REASONS = ["", "5xx", "reset", "timeout", "slow", "policy", "waf", "full"];

/**
 * matches applies the filters to one LogRecord (the API filters too; this keeps the page right
 * whatever subset of filters the API knows).
 * @param {any} r
 * @param {URLSearchParams} f
 */
export function matches(r, f) {
  const status = f.get("status") ?? "";
  if (status !== "") {
    const s = String(r.status ?? "");
    if (/^[1-5]xx$/i.test(status) ? s[0] !== status[0] : s !== status) return false;
  }
  const reason = f.get("reason") ?? "";
  if (reason !== "" && !(r.reasons ?? []).includes(reason)) return false;
  const client = f.get("client") ?? "";
  if (client !== "" && !String(r.client ?? "").includes(client)) return false;
  const q = (f.get("q") ?? "").toLowerCase();
  if (q !== "") {
    const text = [r.method, r.authority, r.path, r.route, r.backend, r.error, r.userAgent]
      .join(" ")
      .toLowerCase();
    if (!text.includes(q)) return false;
  }
  return true;
}

/** filterForm edits the log filters into the page address. @param {string} vs @param {URLSearchParams} params */
function filterForm(vs, params) {
  const input = (/** @type {string} */ name, /** @type {string} */ placeholder) =>
    h("input", { name, placeholder, value: params.get(name) ?? "", size: name === "q" ? 28 : 14 });
  const reason = h(
    "select",
    { name: "reason" },
    REASONS.map((r) =>
      h("option", { value: r, selected: (params.get("reason") ?? "") === r }, r === "" ? "any reason" : r),
    ),
  );
  return h(
    "form",
    {
      class: "toolbar logs-filter",
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const p = new URLSearchParams(params);
        const data = new FormData(/** @type {HTMLFormElement} */ (e.target));
        for (const k of FILTERS) {
          const v = String(data.get(k) ?? "").trim();
          if (v === "") p.delete(k);
          else p.set(k, v);
        }
        location.hash = `#/vs/${encodeURIComponent(vs)}?${p}`;
      },
    },
    input("status", "status: 5xx or 503"),
    reason,
    input("client", "client address"),
    input("q", "text: path, route, error…"),
    h("button", { type: "submit" }, "Filter"),
  );
}

/** answerText is what an answer that is not 200 says, else its status. @param {{status: number, text?: string}} r */
const answerText = (r) => (r.text?.trim() ? r.text.trim() : `the API answered ${r.status}`);

/** perSecond turns per-bucket counts into rates. @param {number} n @param {number} resMs */
const perSecond = (n, resMs) => (resMs > 0 ? n / (resMs / 1000) : n);

/** charts draws the series. @param {any} series */
function charts(series) {
  const points = series.points ?? [];
  const res = series.resolutionMs ?? 0;
  const times = points.map((/** @type {any} */ p) => p.t);
  const classes = [...new Set(points.flatMap((/** @type {any} */ p) => Object.keys(p.classes ?? {})))].sort();
  const errClasses = classes.filter((c) => c !== "2xx" && c !== "1xx" && c !== "3xx");
  const parts = PARTS.filter((part) => points.some((/** @type {any} */ p) => p.latency?.[part]));
  const lat = (/** @type {string} */ q) =>
    parts.map((part) => ({
      label: `${part} ${q}`,
      values: points.map((/** @type {any} */ p) => p.latency?.[part]?.[q] ?? null),
    }));
  return h(
    "div",
    { class: "grid" },
    timeChart(
      "Requests per second",
      times,
      [{ label: "requests/s", values: points.map((/** @type {any} */ p) => perSecond(p.requests, res)) }],
      "req/s",
    ),
    timeChart(
      "Errors per second by class",
      times,
      (errClasses.length > 0 ? errClasses : ["5xx"]).map((c) => ({
        label: c,
        values: points.map((/** @type {any} */ p) => perSecond(p.classes?.[c] ?? 0, res)),
      })),
      "resp/s",
    ),
    timeChart("Latency p50 by part", times, lat("p50"), "ms"),
    timeChart("Latency p99 by part", times, lat("p99"), "ms"),
  );
}

/** topLists shows each top-N list as a small table. @param {any} top */
function topLists(top) {
  const kinds = Object.entries(top ?? {}).filter(
    ([, v]) => v && typeof v === "object" && Object.keys(v).length > 0,
  );
  if (kinds.length === 0) return note("No top-N figures in this window yet.");
  return h(
    "div",
    { class: "tops" },
    kinds.map(([kind, counts]) => {
      const rows = Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10);
      return h(
        "div",
        { class: "card" },
        h("strong", null, kind),
        table(rows, [
          ["Value", (r) => h("span", { class: "mono" }, r[0])],
          ["Count", (r) => num(r[1]), "num"],
        ]),
      );
    }),
  );
}

/** logTable shows kept requests, newest first. @param {any[]} logs */
function logTable(logs) {
  return table(logs, [
    ["Time", (r) => new Date(r.at).toLocaleTimeString()],
    ["Status", (r) => String(r.status)],
    ["Why kept", (r) => (r.reasons ?? []).join(", ")],
    ["Request", (r) => h("span", { class: "mono" }, `${r.method} ${r.authority}${r.path}`)],
    ["Client", (r) => h("span", { class: "mono" }, r.client)],
    ["Route → backend", (r) => h("span", { class: "mono" }, `${r.route || "–"} → ${r.backend || "–"}`)],
    ["Total", (r) => ms(r.timings?.total), "num"],
    ["Error", (r) => r.error || ""],
    ["Browser", (r) => [r.browser, r.os].filter(Boolean).join(" / ")],
  ]);
}

/**
 * render draws the virtual service named by arg (its vsKey).
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 * @param {string} vs
 */
export async function render(main, params, vs) {
  const window = params.get("window") ?? "1h";
  const q = new URLSearchParams({ vs, window });
  // The log API takes a start time, not a window name; the window names are durations it reads.
  const logQ = new URLSearchParams({ vs, since: window, limit: "200" });
  for (const k of FILTERS) if (params.get(k)) logQ.set(k, /** @type {string} */ (params.get(k)));
  const [series, top, logs] = await Promise.all([
    api(`/api/v1/analytics/series?${q}`),
    api(`/api/v1/analytics/top?${q}`),
    api(`/api/v1/analytics/logs?${logQ}`),
  ]);
  main.append(
    h("p", null, h("a", { href: `#/overview?window=${window}` }, "← Overview")),
    h("h1", null, vs),
    windowBar(`#/vs/${encodeURIComponent(vs)}`, params),
  );
  // A 404 says why (analytics off, or no data for this key yet): show the API's own words.
  if (series.status !== 200) main.append(note(`No time series: ${answerText(series)}`));
  else if ((series.data.points ?? []).length === 0)
    main.append(
      note(
        `No traffic in the last ${window}: send a request to this virtual service and it shows here within seconds.`,
      ),
    );
  else main.append(charts(series.data));

  main.append(h("h2", null, "Top"));
  if (top.status === 200) main.append(topLists(top.data?.top ?? top.data));
  else main.append(note(`No top-N lists: ${answerText(top)}`));

  main.append(
    h("h2", null, "Kept requests"),
    h(
      "p",
      { class: "muted" },
      "5xx, resets, timeouts, slow and refused requests are always kept; full logs when switched on for this service.",
    ),
    filterForm(vs, params),
  );
  if (logs.status === 400) main.append(note(`The log filter was refused: ${answerText(logs)}`));
  else if (logs.status !== 200) main.append(note(`No request log: ${answerText(logs)}`));
  else {
    const rows = listOf(logs.data, "logs").filter((/** @type {any} */ r) => matches(r, params));
    rows.sort((/** @type {any} */ a, /** @type {any} */ b) => b.at - a.at);
    main.append(
      h(
        "div",
        { class: "logs" },
        rows.length === 0
          ? note("No kept request matches: widen the filters or the window.")
          : logTable(rows.slice(0, 200)),
      ),
    );
  }
}
