// cli-routes.ts: the admin API routes behind `portico get`, `explain`, `translate` and `validate
// --admin`. Each answers with the document the offline command computes from directories, from
// the same functions, on the snapshot now serving — so the live and offline answers agree.
//   GET /api/v1/tables/services|ingresses|gateways|routes|pools|enginegroups|dns|policies|certificates|tenants   rows, every column (-o wide)
//   GET /api/v1/explain/KIND/NS/NAME, /api/v1/explain/KIND/NAME   an Explanation; 404 when absent
//   GET /api/v1/translate                                         the `portico translate` document
//   GET /api/v1/validate                                          the `portico validate` report
// With a tenant scope (tenant-scope.ts) tables keep the tenant's rows, explain answers 404 for an
// object outside it, and translate/validate (the whole configuration) answer 403.
import { TABLE_KINDS, tableRows, type TableKind } from "../controller/tables.ts";
import { translateDoc, validateReport, type Inspection } from "../controller/views.ts";
import { explain } from "../controller/explain/index.ts";
import type { FleetView } from "../controller/fleet/view.ts";
import { kindOf, TARGET_KINDS } from "../controller/explain/target.ts";
import { notFound } from "../controller/explain/common.ts";
import { objectVisible, scopeRows, type TenantScope } from "./tenant-scope.ts";

/** CliView is what these routes read of the controller. */
export interface CliView {
  /** inspect is undefined until a first snapshot serves. */
  inspect(): Inspection | undefined;
  /** engines, when the controller has engines, is GET /api/v1/engines' view; explain enginegroup lists them. */
  engines?(): FleetView | undefined;
}

type Send = (status: number, type: string, body: string) => void;

/** json sends a document as JSON. */
function json(send: Send, status: number, doc: unknown): void {
  send(status, "application/json", JSON.stringify(doc, null, 2) + "\n");
}

/** LISTS name the `portico get` table of a kind, as explain's own "not found" says it. */
const LISTS: Record<string, string> = {
  Service: "services",
  Ingress: "ingresses",
  IngressClass: "ingresses",
  Gateway: "gateways",
  WafPolicy: "policies",
  AccessPolicy: "policies",
  VipPool: "pools",
  EngineGroup: "enginegroups",
  DnsZone: "dns",
  Tenant: "tenants",
};

/** SHARED_EXPLAIN are cluster-scoped kinds whose explanation names every tenant's objects that use them. */
const SHARED_EXPLAIN = new Set(["VipPool", "EngineGroup", "DnsZone"]);

/** serveCliRoute answers path if it is one of these routes and returns true; false leaves it to the caller. */
export function serveCliRoute(view: CliView, path: string, send: Send, scope?: TenantScope): boolean {
  const m = /^\/api\/v1\/(tables|explain|translate|validate)(?:\/(.*))?$/.exec(path);
  if (!m) return false;
  const [, what, rest = ""] = m;
  const now = view.inspect();
  if (!now) {
    send(503, "text/plain", "no snapshot serving yet; retry once /readyz answers 200\n");
    return true;
  }
  const { set, out } = now;
  if (scope && (what === "translate" || what === "validate")) {
    send(
      403,
      "text/plain",
      `/api/v1/${what} covers every tenant; a view of tenant ${scope.tenant} has /api/v1/tables/KIND and /api/v1/explain/KIND/NS/NAME\n`,
    );
    return true;
  }
  if (what === "translate" && rest === "") json(send, 200, translateDoc(set, out));
  else if (what === "validate" && rest === "") json(send, 200, validateReport(set, out));
  else if (what === "tables" && (TABLE_KINDS as readonly string[]).includes(rest)) {
    const rows = tableRows(
      rest as TableKind,
      set,
      now.live ? { ...out, statuses: now.live } : out,
      now.ports,
      scope ? now.announcements?.filter((a) => scope.addresses.has(a.address)) : now.announcements,
    );
    json(send, 200, scope ? scopeRows(rest, rows, scope) : rows);
  } else if (what === "explain") {
    const words = rest.split("/").map((w) => decodeURIComponent(w));
    const k = kindOf(words[0] ?? "");
    const fit = k && words.length === (k.namespaced ? 3 : 2) && words.every((w) => w !== "");
    if (!k || !fit) {
      send(400, "text/plain", `explain wants KIND/NS/NAME or KIND/NAME; kinds: ${TARGET_KINDS}\n`);
      return true;
    }
    const t = { kind: k.kind, namespace: k.namespaced ? words[1]! : "", name: words[words.length - 1]! };
    // Outside the scope, the answer is the one for an object nobody defined: no name is confirmed.
    if (scope && !objectVisible(scope, t.kind, t.namespace, t.name)) {
      json(send, 404, notFound(t, "manifests", LISTS[t.kind] ?? "routes"));
      return true;
    }
    if (scope && SHARED_EXPLAIN.has(t.kind)) {
      send(
        403,
        "text/plain",
        `explain ${t.kind}/${t.name} names the objects of every tenant using it; a view of tenant ${scope.tenant} has its row in /api/v1/tables\n`,
      );
      return true;
    }
    const live = now.announcements ? { ...out, announcements: now.announcements } : out;
    const e = explain(set, live, t, "manifests", view.engines?.());
    json(send, e.found ? 200 : 404, e);
  } else
    send(
      404,
      "text/plain",
      `not found: try /api/v1/tables/{${TABLE_KINDS.join(",")}}, /api/v1/explain/KIND/NS/NAME, /api/v1/translate, /api/v1/validate\n`,
    );
  return true;
}
