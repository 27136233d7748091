// @ts-check
// overview.js: every virtual service with traffic in the window (rate, errors, p99, health and a
// sparkline; which engines answered it), then the address pools (used/free/pending) and, when the
// analytics API has them, the health of pools and engine groups.
import {
  api,
  h,
  listOf,
  ms,
  note,
  num,
  objectName,
  pct,
  rowsTable,
  score,
  sparkline,
  table,
  WINDOWS,
} from "./lib.js";

/**
 * windowBar links the windows; the chosen one is highlighted.
 * @param {string} base hash path ("#/overview")
 * @param {URLSearchParams} params
 */
export function windowBar(base, params) {
  const current = params.get("window") ?? "1h";
  return h(
    "div",
    { class: "toolbar" },
    h("span", { class: "muted" }, "Window:"),
    WINDOWS.map((w) => {
      const p = new URLSearchParams(params);
      p.set("window", w);
      return h("a", { href: `${base}?${p}`, class: w === current ? "btn on" : "btn" }, w);
    }),
  );
}

/** healthRows reads a health map or list ({name, health} or name → Health) into rows. @param {any} doc */
export function healthRows(doc) {
  const items = Array.isArray(doc) ? doc : Object.entries(doc ?? {}).map(([name, v]) => ({ name, ...v }));
  return items.map((/** @type {any} */ x) => {
    const health = x.health ?? x;
    return {
      name: x.name ?? x.pool ?? x.group ?? x.key ?? "",
      score: health.score,
      reasons: health.reasons ?? [],
    };
  });
}

/** reasonsText lists what lowered a score. @param {{message: string, penalty?: number}[]} reasons */
export function reasonsText(reasons) {
  if (!reasons || reasons.length === 0) return h("span", { class: "muted" }, "nothing wrong");
  return h(
    "span",
    null,
    reasons.map((r) => `${r.message}${r.penalty ? ` (−${Math.round(r.penalty)})` : ""}`).join("; "),
  );
}

/**
 * render draws the overview.
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export async function render(main, params) {
  const window = params.get("window") ?? "1h";
  const [services, pools, health, status] = await Promise.all([
    api(`/api/v1/analytics/services?window=${encodeURIComponent(window)}`),
    api("/api/v1/tables/pools"),
    api(`/api/v1/analytics/health?window=${encodeURIComponent(window)}`),
    api("/api/v1/status"),
  ]);
  main.append(h("h1", null, "Virtual services"), windowBar("#/overview", params));
  if (services.status === 404)
    main.append(
      note(
        "Traffic analytics are not served by this Portico (GET /api/v1/analytics/services answered 404). Configuration, problems and engines are on the other pages.",
      ),
    );
  else if (services.status !== 200)
    main.append(note(`Traffic analytics are not available yet: ${services.text ?? services.status}`));
  else {
    const rows = listOf(services.data, "services");
    if (rows.length === 0)
      main.append(
        note(
          `No traffic yet in the last ${window}: send a request to one of the addresses on the Objects page (for example curl -H 'Host: HOST' http://ADDRESS/), then it shows here within seconds.`,
        ),
      );
    else
      main.append(
        table(rows, [
          [
            "Virtual service",
            (/** @type {any} */ r) =>
              h("a", { href: `#/vs/${encodeURIComponent(r.vs)}?window=${window}` }, r.vs),
          ],
          ["Kind", (r) => r.kind],
          ["Engines", (r) => (r.engines ?? []).join(", ")],
          ["Requests/s", (r) => num(r.requestsPerSecond), "num"],
          ["Requests", (r) => num(r.requests), "num"],
          ["Errors", (r) => pct(r.errorRate), "num"],
          ["p99", (r) => ms(r.latency?.total?.p99), "num"],
          ["Apdex", (r) => (Number.isFinite(r.apdex) ? r.apdex.toFixed(2) : "–"), "num"],
          [
            "Health",
            (r) =>
              h(
                "span",
                { title: (r.health?.reasons ?? []).map((/** @type {any} */ x) => x.message).join("\n") },
                score(r.health?.score),
              ),
          ],
          ["Traffic", (r) => sparkline(r.spark ?? [])],
        ]),
      );
  }

  main.append(h("h2", null, "Virtual IPs"));
  const vips = listOf(status.data, "items").filter(
    (/** @type {any} */ o) => (o.status?.loadBalancer?.ingress ?? []).length > 0,
  );
  if (vips.length === 0)
    main.append(
      note(
        "No object has an address yet: a LoadBalancer Service, an Ingress or a Gateway gets one from a VipPool (see Problems if one waits).",
      ),
    );
  else
    main.append(
      table(vips, [
        ["Object", (/** @type {any} */ o) => objectName(o)],
        [
          "Address",
          (o) => o.status.loadBalancer.ingress.map((/** @type {any} */ a) => a.ip ?? a.hostname).join(", "),
        ],
        [
          "Programmed",
          (o) => {
            const c = (o.status.conditions ?? []).find((/** @type {any} */ c) => /Programmed$/.test(c.type));
            return c ? h("span", { class: `cond-${c.status}` }, c.status) : "–";
          },
        ],
      ]),
    );

  main.append(h("h2", null, "Address pools"));
  if (pools.status === 200) main.append(rowsTable(listOf(pools.data, "rows")));
  else main.append(note(pools.text ?? `GET /api/v1/tables/pools answered ${pools.status}`));

  if (health.status === 200) {
    for (const [title, field] of [
      ["Pool health", "pools"],
      ["Engine group health", "groups"],
    ]) {
      const rows = healthRows(health.data?.[field]);
      if (rows.length === 0) continue;
      main.append(
        h("h2", null, title),
        table(rows, [
          ["Name", (r) => r.name],
          ["Health", (r) => score(r.score)],
          ["Why", (r) => reasonsText(r.reasons)],
        ]),
      );
    }
  }
}
