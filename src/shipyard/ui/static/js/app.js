// The shell: routes each address to its page module and keeps navigation in the page.
import { api, getToken } from "./api.js";
import { h, errorBox } from "./dom.js";

const ROUTES = [
  [/^\/$/, "experiments", () => ({})],
  [/^\/experiments$/, "experiments", () => ({})],
  [/^\/experiments\/([^/]+)$/, "runs", (m) => ({ experiment: m[1] })],
  [/^\/runs\/([^/]+)$/, "run", (m) => ({ run: m[1] })],
  [/^\/compare$/, "compare", () => ({})],
  [/^\/models$/, "models", () => ({})],
  [/^\/models\/([^/]+)$/, "model", (m) => ({ name: m[1] })],
  [/^\/models\/([^/]+)\/([^/]+)$/, "model_version", (m) => ({ name: m[1], version: m[2] })],
  [/^\/datasets$/, "datasets", () => ({})],
  [/^\/datasets\/([^/]+)$/, "dataset", (m) => ({ name: m[1] })],
  [/^\/datasets\/([^/]+)\/([^/]+)$/, "dataset_version", (m) => ({ name: m[1], version: m[2] })],
  [/^\/lineage$/, "lineage", () => ({})],
  [/^\/pipelines$/, "pipelines", () => ({})],
  [/^\/pipelines\/([^/]+)$/, "pipeline", (m) => ({ name: m[1] })],
  [/^\/pipeline-runs\/([^/]+)$/, "pipeline_run", (m) => ({ run: m[1] })],
  [/^\/features$/, "features", () => ({})],
  [/^\/features\/([^/]+)\/([^/]+)$/, "feature", (m) => ({ kind: m[1], name: m[2] })],
  [/^\/monitors$/, "monitors", () => ({})],
  [/^\/monitors\/([^/]+)$/, "monitor", (m) => ({ name: m[1] })],
  [/^\/deployments$/, "deployments", () => ({})],
  [/^\/settings$/, "settings", () => ({})],
];

const main = document.getElementById("main");
const banner = document.getElementById("banner");
let generation = 0;

function match(pathname) {
  for (const [pattern, page, params] of ROUTES) {
    const m = pathname.match(pattern);
    if (m) {
      const raw = params(m);
      const decoded = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, decodeURIComponent(v)]));
      return { page, params: decoded };
    }
  }
  return null;
}

function markCurrent(pathname) {
  for (const a of document.querySelectorAll("header nav a")) {
    const href = a.getAttribute("href");
    const current = pathname === href || pathname.startsWith(href + "/") ||
      (href === "/experiments" && (pathname === "/" || pathname.startsWith("/runs/") || pathname === "/compare")) ||
      (href === "/pipelines" && pathname.startsWith("/pipeline-runs/"));
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function render({ focus = false } = {}) {
  const mine = ++generation;
  const { pathname, search } = window.location;
  markCurrent(pathname);
  const found = match(pathname);
  main.setAttribute("aria-busy", "true");
  if (!found) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, `No page at ${pathname}.`));
    main.removeAttribute("aria-busy");
    return;
  }
  try {
    const module = await import(`./pages/${found.page}.js`);
    const content = await module.render(found.params, new URLSearchParams(search));
    if (mine !== generation) return; // a newer navigation won
    main.replaceChildren(content);
  } catch (error) {
    if (mine !== generation) return;
    main.replaceChildren(h("h1", {}, "Could not load this page"), errorBox(error));
  }
  main.removeAttribute("aria-busy");
  if (focus) main.focus({ preventScroll: true });
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.scrollTo(0, 0);
  render({ focus: !replace });
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const href = a.getAttribute("href");
  if (!href || !href.startsWith("/") || href.startsWith("//") || href.startsWith("/api/") || href.startsWith("/static/")) return;
  event.preventDefault();
  navigate(href);
});

window.addEventListener("popstate", () => render());

document.addEventListener("shipyard:unauthenticated", (event) => {
  banner.replaceChildren(h("p", { class: "error" }, event.detail.message, " ",
    h("a", { href: "/settings" }, "Paste a token in Settings.")));
});

async function whoami() {
  const slot = document.getElementById("whoami");
  try {
    const info = await api("/info");
    if (!info.auth) { slot.textContent = `v${info.version} · no authentication`; return; }
    if (!getToken()) { slot.textContent = "not signed in"; return; }
    const me = await api("/whoami");
    const roles = Object.entries(me.roles || {}).map(([p, r]) => `${r} on ${p}`).join(", ");
    slot.textContent = `${me.name}${roles ? ` (${roles})` : ""}`;
  } catch (error) {
    slot.textContent = "";
  }
}

document.addEventListener("shipyard:token", () => { banner.replaceChildren(); whoami(); });

whoami();
render();
