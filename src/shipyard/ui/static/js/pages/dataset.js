import { api, seg } from "../api.js";
import { h, link, table, fmtTime, fmtBytes, pageHeader, short } from "../dom.js";

export async function render(params) {
  const { versions } = await api(`/datasets/${seg(params.name)}/versions`);
  return h("div", {},
    pageHeader(`Dataset ${params.name}`),
    table([
      ["Version", (v) => link(`/datasets/${seg(params.name)}/${v.version}`, `@${v.version}`)],
      ["Rows", (v) => v.num_rows],
      ["Columns", (v) => (v.schema || []).length],
      ["Size", (v) => fmtBytes(v.size)],
      ["Created", (v) => fmtTime(v.created_at)],
      ["Content hash", (v) => h("code", {}, short(v.content_hash))],
      ["Source", (v) => v.source],
    ], [...versions].sort((a, b) => b.version - a.version), { caption: "Versions" }));
}
