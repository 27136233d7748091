// @ts-check
// app.js: the console's hash router. Each page is a module with render(main, params) that fills
// main from the admin API; the router redraws the page every REFRESH_MS while it is shown, and
// shows the token field when the admin address answers 401 (a non-loopback --admin).
import { errorBox, h, setToken, Unauthorized } from "./lib.js";
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
    await PAGES[page]?.render(next, params, arg);
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
      "This Portico's admin address is not on loopback, so it asks for the token of --admin-token-file. It is kept for this tab only.",
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
