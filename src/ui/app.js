// @ts-check
// app.js: the console's hash router. Each page is a module with render(main, params) that fills
// main from the admin API; the router redraws the page every REFRESH_MS while it is shown, and
// shows the token field when the admin address answers 401 (a non-loopback --admin). The header
// names the tenant a scoped token sees, or offers the tenants to narrow the console to.
import { api, errorBox, h, setTenant, setToken, tenant, Unauthorized } from "./lib.js";
import { destroyCharts, mountCharts } from "./chart.js";
import * as overview from "./overview.js";
import * as service from "./service.js";
import * as objects from "./objects.js";
import * as engines from "./engines.js";
import * as problems from "./problems.js";

/** @type {Record<string, {render: (main: HTMLElement, params: URLSearchParams, arg: string) => Promise<void>}>} */
const PAGES = { overview, vs: service, objects, engines, problems };

/** REFRESH_MS: analytics buckets are 5 s, so a faster redraw would show nothing new. */
const REFRESH_MS = 10_000;

const main = /** @type {HTMLElement} */ (document.getElementById("view"));
let timer = 0;
let drawing = 0;

/** route reads location.hash: #/PAGE[/ARG][?query]. */
function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path = "", query = ""] = hash.split("?");
  const [page = "overview", ...rest] = path.split("/");
  return {
    page: PAGES[page] ? page : "overview",
    arg: decodeURIComponent(rest.join("/")),
    params: new URLSearchParams(query),
  };
}

/** draw renders the current page into a fresh element, then swaps it in (no flicker on refresh). */
async function draw() {
  const id = ++drawing;
  const { page, arg, params } = route();
  for (const a of document.querySelectorAll("header nav a"))
    a.classList.toggle("active", a.getAttribute("data-page") === (page === "vs" ? "overview" : page));
  const next = h("div");
  try {
    await Promise.all([PAGES[page]?.render(next, params, arg), tenantBar()]);
  } catch (err) {
    if (err instanceof Unauthorized) return login(err.message);
    next.append(errorBox(`This page could not be drawn: ${String(err)}`));
  }
  if (id !== drawing) return destroyCharts(next); // a newer draw started meanwhile
  destroyCharts(main);
  main.replaceChildren(...next.childNodes);
  mountCharts(main);
  const u = document.getElementById("updated");
  if (u) u.textContent = `updated ${new Date().toLocaleTimeString()}`;
}

/**
 * tenantBar fills the header's tenant slot from GET /api/v1/whoami: the name of a scoped token's
 * tenant, or a choice of tenants for a full admin (when there are any), and a way to sign in with
 * another token (on loopback no token is asked for, yet a tenant's token may be used).
 */
async function tenantBar() {
  const slot = document.getElementById("tenant");
  // Not while the choice is open: the redraw would replace it under the pointer.
  if (!slot || slot.contains(document.activeElement)) return;
  const who = await api("/api/v1/whoami");
  if (who.status === 404 && tenant()) {
    // The chosen tenant is gone: show everything again.
    setTenant("");
    return tenantBar();
  }
  const me = who.data ?? {};
  const signIn = h(
    "a",
    {
      href: "#",
      class: "signin",
      onclick: (/** @type {Event} */ e) => (e.preventDefault(), login("Sign in with another admin token.")),
    },
    "token",
  );
  if (me.scoped)
    return void slot.replaceChildren(
      h("span", { class: "tenant", "data-tenant": me.tenant }, `tenant ${me.tenant}`),
      signIn,
    );
  const names = /** @type {string[]} */ (me.tenants ?? []);
  if (names.length === 0) return void slot.replaceChildren(signIn);
  const select = h(
    "select",
    {
      name: "tenant",
      "aria-label": "tenant",
      onchange: (/** @type {Event} */ e) => {
        setTenant(/** @type {HTMLSelectElement} */ (e.target).value);
        start();
      },
    },
    h("option", { value: "" }, "all tenants"),
    names.map((n) => h("option", { value: n, selected: n === (me.tenant ?? "") }, n)),
  );
  slot.replaceChildren(select, signIn);
}

/** login asks for the admin token; it is kept in sessionStorage and sent as a bearer token. @param {string} why */
function login(why) {
  window.clearInterval(timer);
  const input = h("input", {
    type: "password",
    name: "token",
    placeholder: "admin token",
    autocomplete: "off",
    size: 40,
  });
  const form = h(
    "form",
    {
      class: "login",
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        setToken(/** @type {HTMLInputElement} */ (input).value);
        setTenant("");
        start();
      },
    },
    input,
    h("button", { type: "submit" }, "Sign in"),
  );
  main.replaceChildren(
    h("h1", null, "Admin token"),
    h("p", null, why.trim()),
    h(
      "p",
      { class: "muted" },
      "A line of --admin-token-file: a full admin token, or a tenant's token (the console then shows that tenant only). It is kept for this tab only.",
    ),
    form,
  );
}

function start() {
  window.clearInterval(timer);
  void draw();
  // Not while a filter field is being typed in: the redraw would replace it under the cursor.
  timer = window.setInterval(() => {
    if (!main.contains(document.activeElement) || document.activeElement === main) void draw();
  }, REFRESH_MS);
}

window.addEventListener("hashchange", start);
start();
