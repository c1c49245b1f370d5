import { api, seg } from "../api.js";
import { h, link, table, fmtTime, pageHeader } from "../dom.js";

export async function render() {
  const { models } = await api("/models");
  return h("div", {},
    pageHeader("Models"),
    table([
      ["Name", (m) => link(`/models/${seg(m.name)}`, m.name)],
      ["Project", (m) => m.project],
      ["Latest", (m) => m.latest_version ? link(`/models/${seg(m.name)}/${m.latest_version}`, `v${m.latest_version}`) : ""],
      ["Aliases", (m) => Object.entries(m.aliases || {}).map(([a, v]) => h("span", { class: "badge" }, `@${a} → v${v}`))],
      ["Updated", (m) => fmtTime(m.updated_at)],
      ["Description", (m) => m.description],
    ], models, { caption: `${models.length} registered model(s)`, empty: "No registered models yet." }));
}
