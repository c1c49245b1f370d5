// The API token this browser sends (kept in localStorage), and who it belongs to.
import { api, getToken, setToken } from "../api.js";
import { h, pageHeader, errorBox } from "../dom.js";

export async function render() {
  const info = await api("/info");
  const input = h("input", { id: "token", type: "password", size: 60, autocomplete: "off", value: getToken(), "aria-describedby": "token-help" });
  const result = h("div", { id: "token-result", "aria-live": "polite" });
  async function check() {
    if (!getToken()) { result.replaceChildren(h("p", { class: "muted" }, "No token saved.")); return; }
    try {
      const me = await api("/whoami");
      const roles = Object.entries(me.roles || {}).map(([p, r]) => `${r} on ${p}`).join(", ") || "no role";
      result.replaceChildren(h("p", { class: "ok" }, `Signed in as ${me.name}: ${roles}.`));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  }
  const form = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    setToken(input.value);
    document.dispatchEvent(new CustomEvent("shipyard:token"));
    await check();
  } },
  h("div", { class: "form-row" }, h("label", { for: "token" }, "API token"), input,
    h("button", { type: "submit" }, "Save"),
    h("button", { type: "button", class: "secondary", onclick: () => { setToken(""); input.value = ""; document.dispatchEvent(new CustomEvent("shipyard:token")); check(); } }, "Forget")),
  h("p", { id: "token-help", class: "legend-note" }, "A token from `shipyard tokens create` (shy_…). It is kept in this browser only and sent to this server with every request."));
  if (getToken()) check();
  return h("div", {}, pageHeader("Settings"),
    h("p", {}, `Shipyard ${info.version}; this server ${info.auth ? "requires a token" : "runs without authentication (loopback only)"}.`),
    form, result);
}
