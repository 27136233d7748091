// @ts-check
// problems.js: everything that needs a person — input errors with their file:line (GET
// /api/v1/errors: files that do not parse, objects refused, a rejected snapshot, listeners that
// cannot bind) and every condition that is False on any object (GET /api/v1/status).
import { api, h, note, objectName, table } from "./lib.js";
import { conditionCell, conditionsOf } from "./objects.js";

/** GOOD_WHEN_FALSE are condition types where False is the healthy state. */
const GOOD_WHEN_FALSE = new Set(["Conflicted", "Degraded", "Stalled", "Detached"]);

/** failing keeps the conditions that say something is wrong. @param {any[]} objects */
export function failing(objects) {
  return objects.flatMap((o) =>
    conditionsOf(o.status)
      .filter((c) => (c.status === "False") !== GOOD_WHEN_FALSE.has(c.type) && c.status !== "Unknown")
      .map((c) => ({ o, c })),
  );
}

/** at formats "file:line". @param {{file?: string, line?: number}} e */
const at = (e) => (e.file ? `${e.file}${e.line ? `:${e.line}` : ""}` : "");

/**
 * render draws the problems.
 * @param {HTMLElement} main
 */
export async function render(main) {
  const [errors, status] = await Promise.all([api("/api/v1/errors"), api("/api/v1/status")]);
  main.append(h("h1", null, "Problems"));
  const e = errors.data ?? {};
  let count = 0;
  /** @param {string} title @param {any[]} rows @param {[string, (r: any) => any, string?][]} cols */
  const section = (title, rows, cols) => {
    if (!rows || rows.length === 0) return;
    count += rows.length;
    main.append(h("h2", null, title), table(rows, cols));
  };
  section("Input that could not be read", e.input, [
    ["Where", (r) => h("span", { class: "mono where" }, at(r))],
    ["Object", (r) => r.object || ""],
    [
      "Problem",
      (r) => [
        r.message,
        r.stale ? h("div", { class: "muted" }, "the file's last good version still serves") : "",
      ],
    ],
  ]);
  section("Objects refused", e.invalid, [
    ["Where", (r) => h("span", { class: "mono where" }, at(r))],
    ["Object", (r) => objectName(r)],
    ["Reason", (r) => r.reason],
    ["Problem", (r) => r.message],
  ]);
  if (e.rejected)
    section(
      "Last snapshot refused by the engine",
      [e.rejected],
      [["What", (r) => h("pre", null, JSON.stringify(r, null, 2))]],
    );
  section("Listeners that cannot serve", e.listeners, [
    ["Listener", (r) => r.name ?? r.listener ?? ""],
    ["Problem", (r) => r.detail ?? r.message ?? JSON.stringify(r)],
  ]);
  section("Other problems", e.problems, [
    ["Source", (r) => r.source],
    ["Problem", (r) => r.message],
    ["Blocks readiness", (r) => (r.unready ? "yes" : "no")],
  ]);
  section(
    "Notices",
    (e.notices ?? []).map((/** @type {string} */ n) => ({ n })),
    [["Notice", (r) => r.n]],
  );
  if (status.status === 200)
    section("Failing conditions", failing(Array.isArray(status.data) ? status.data : []), [
      ["Object", (r) => objectName(r.o)],
      ["Condition", (r) => conditionCell(r.c)],
    ]);
  if (errors.status !== 200) main.append(note(errors.text ?? `GET /api/v1/errors answered ${errors.status}`));
  if (count === 0)
    main.append(note("No problems: every file reads, every object is accepted and every condition holds."));
}
