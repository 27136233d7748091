// @ts-check
// objects.js: every object Portico reports on (GET /api/v1/status: Services, Ingresses, Gateways,
// routes, pools, policies...) with its conditions, and on demand the text of `portico explain`
// (GET /api/v1/explain/KIND/NS/NAME) for the kinds explain knows.
import { api, h, listOf, note, objectName, table } from "./lib.js";

/** EXPLAINED are the kinds `portico explain` answers, and whether each is namespaced. */
const EXPLAINED = {
  Service: true,
  Ingress: true,
  Gateway: true,
  HTTPRoute: true,
  GRPCRoute: true,
  TLSRoute: true,
  TCPRoute: true,
  UDPRoute: true,
  WafPolicy: true,
  AccessPolicy: true,
  VipPool: false,
  IngressClass: false,
  EngineGroup: false,
  DnsZone: false,
};

/** conditionsOf gathers an object's conditions, also those of Gateway listeners and route parents. @param {any} status */
export function conditionsOf(status) {
  /** @type {{where: string, type: string, status: string, reason?: string, message?: string}[]} */
  const out = [];
  const add = (/** @type {string} */ where, /** @type {any[]} */ list) => {
    for (const c of list ?? []) out.push({ where, ...c });
  };
  add("", status?.conditions);
  for (const l of status?.listeners ?? []) add(`listener ${l.name}`, l.conditions);
  for (const p of status?.parents ?? [])
    add(
      `parent ${p.parentRef?.name ?? ""}${p.parentRef?.sectionName ? `/${p.parentRef.sectionName}` : ""}`,
      p.conditions,
    );
  for (const p of status?.ancestors ?? []) add(`ancestor ${p.ancestorRef?.name ?? ""}`, p.conditions);
  return out;
}

/** addressOf is the object's address, when it has one. @param {any} status */
function addressOf(status) {
  const ing = status?.loadBalancer?.ingress ?? status?.addresses ?? [];
  return ing
    .map((/** @type {any} */ a) => a.ip ?? a.hostname ?? a.value)
    .filter(Boolean)
    .join(", ");
}

/** conditionCell shows one condition compactly. @param {any} c */
export function conditionCell(c) {
  return h(
    "div",
    null,
    c.where ? h("span", { class: "muted" }, `${c.where}: `) : "",
    h("span", { class: `cond-${c.status}` }, `${c.type}=${c.status}`),
    c.reason ? ` ${c.reason}` : "",
    c.message ? h("div", { class: "muted" }, c.message) : "",
  );
}

/** explainBox loads `portico explain`'s text when the object is opened. @param {any} o */
function explainBox(o) {
  const namespaced = /** @type {Record<string, boolean>} */ (EXPLAINED)[o.kind];
  if (namespaced === undefined) return "";
  const path = `/api/v1/explain/${o.kind.toLowerCase()}/${namespaced ? `${encodeURIComponent(o.namespace ?? "default")}/` : ""}${encodeURIComponent(o.name)}`;
  const pre = h("pre", { class: "explain" }, "loading…");
  const box = h("details", null, h("summary", null, "portico explain"), pre);
  box.addEventListener(
    "toggle",
    async () => {
      try {
        const r = await api(path);
        pre.textContent = r.data?.lines ? r.data.lines.join("\n") : (r.text ?? `answered ${r.status}`);
      } catch (err) {
        pre.textContent = String(err);
      }
    },
    { once: true },
  );
  return box;
}

/**
 * render draws the objects, grouped by kind.
 * @param {HTMLElement} main
 */
export async function render(main) {
  const status = await api("/api/v1/status");
  main.append(h("h1", null, "Objects"));
  if (status.status !== 200)
    return void main.append(note(status.text ?? `GET /api/v1/status answered ${status.status}`));
  const objects = listOf(status.data, "items");
  if (objects.length === 0)
    return void main.append(
      note(
        "No objects yet: give `portico run` a directory with a Service, Ingress or Gateway (examples/ has some), or check the Problems page.",
      ),
    );
  const kinds = [...new Set(objects.map((/** @type {any} */ o) => o.kind))].sort();
  for (const kind of kinds) {
    const rows = objects.filter((/** @type {any} */ o) => o.kind === kind);
    main.append(
      h("h2", null, `${kind} (${rows.length})`),
      table(rows, [
        [
          "Object",
          (o) =>
            h(
              "div",
              { class: "object", "data-object": objectName(o) },
              h("strong", null, o.namespace ? `${o.namespace}/${o.name}` : o.name),
              explainBox(o),
            ),
        ],
        ["Address", (o) => addressOf(o.status)],
        [
          "Conditions",
          (o) => {
            const cs = conditionsOf(o.status);
            return cs.length === 0 ? h("span", { class: "muted" }, "none reported") : cs.map(conditionCell);
          },
        ],
      ]),
    );
  }
}
