import { api, seg } from "../api.js";
import { h, link, table, fmtTime, pageHeader } from "../dom.js";

export async function render() {
  const { datasets } = await api("/datasets");
  return h("div", {},
    pageHeader("Datasets"),
    table([
      ["Name", (d) => link(`/datasets/${seg(d.name)}`, d.name)],
      ["Project", (d) => d.project],
      ["Latest", (d) => link(`/datasets/${seg(d.name)}/${d.latest_version}`, `@${d.latest_version}`)],
      ["Versions", (d) => d.version_count],
      ["Updated", (d) => fmtTime(d.updated_at)],
      ["Description", (d) => d.description],
    ], datasets, { caption: `${datasets.length} dataset(s)`, empty: "No datasets registered yet." }));
}
