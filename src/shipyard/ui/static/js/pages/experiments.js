import { api, seg } from "../api.js";
import { h, link, table, fmtTime, pageHeader } from "../dom.js";

export async function render() {
  const { experiments } = await api("/experiments");
  return h("div", {},
    pageHeader("Experiments"),
    table([
      ["Name", (e) => link(`/experiments/${seg(e.id)}`, e.name)],
      ["Project", (e) => e.project],
      ["Created", (e) => fmtTime(e.created_at)],
      ["Description", (e) => e.description],
      ["Id", (e) => h("code", {}, e.id)],
    ], experiments, { caption: `${experiments.length} experiment(s)`, empty: "No experiments yet: log a run with shipyard.start_run()." }));
}
