import { api, seg } from "../api.js";
import { h, table, section, kvTable, fmtTime, fmtDuration, pageHeader, link } from "../dom.js";

export async function render(params) {
  const o = await api(`/features/objects/${seg(params.kind)}/${seg(params.name)}`);
  const parts = [pageHeader(`${o.kind.replace("_", " ")} ${o.name}`, h("span", { class: "muted" }, `project ${o.project}`))];
  const spec = { ...o.spec };
  if (o.kind === "feature_view") {
    const { materializations } = await api(`/features/views/${seg(o.name)}/materializations`);
    const last = materializations.reduce((best, m) => (!best || m.end > best.end ? m : best), null);
    parts.push(
      h("p", {}, last ? `Materialized up to ${fmtTime(last.end)} (${fmtDuration(Date.now() - last.end)} ago).` : "Never materialized.",
        " ", link(`/lineage?node=feature_view:${seg(o.name)}`, "lineage")),
      section("Features", table([["Name", (c) => c.name], ["Type", (c) => c.dtype]], spec.schema || [])),
      section("Materializations", table([
        ["From", (m) => fmtTime(m.start) || "the beginning"], ["To (watermark)", (m) => fmtTime(m.end)], ["Rows", (m) => m.rows], ["Recorded", (m) => fmtTime(m.created_at)],
      ], [...materializations].sort((a, b) => b.end - a.end), { empty: "None." })));
    delete spec.schema;
  }
  if (o.kind === "service") {
    parts.push(section("Features", h("ul", {}, (spec.features || []).map((f) => h("li", {}, h("code", {}, typeof f === "string" ? f : JSON.stringify(f)))))));
    delete spec.features;
  }
  parts.push(section("Definition", kvTable(spec)), h("p", { class: "muted" }, `digest ${o.digest}; updated ${fmtTime(o.updated_at)}`));
  return h("div", {}, ...parts);
}
