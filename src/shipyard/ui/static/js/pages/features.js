// Feature store objects: entities, feature views (with freshness and the materialization
// watermark) and services.
import { api, seg } from "../api.js";
import { h, link, table, section, fmtTime, fmtDuration, pageHeader } from "../dom.js";

export async function render() {
  const { objects } = await api("/features/objects");
  const of = (kind) => objects.filter((o) => o.kind === kind);
  const views = of("feature_view");
  const watermarks = new Map(await Promise.all(views.map(async (v) => {
    const { materializations } = await api(`/features/views/${seg(v.name)}/materializations`).catch(() => ({ materializations: [] }));
    return [v.name, materializations.reduce((best, m) => (!best || m.end > best.end ? m : best), null)];
  })));
  const page = (o) => link(`/features/${seg(o.kind)}/${seg(o.name)}`, o.name);
  return h("div", {},
    pageHeader("Features"),
    section("Entities", table([["Name", page], ["Join keys", (o) => (o.spec.join_keys || []).join(", ")], ["Project", (o) => o.project], ["Description", (o) => o.spec.description]], of("entity"), { empty: "No entities." })),
    section("Feature views", table([
      ["Name", page],
      ["Entities", (o) => (o.spec.entities || []).join(", ")],
      ["Features", (o) => (o.spec.schema || []).length],
      ["Online", (o) => (o.spec.online ? "yes" : "no")],
      ["Watermark", (o) => { const m = watermarks.get(o.name); return m ? fmtTime(m.end) : "never materialized"; }],
      ["Freshness", (o) => { const m = watermarks.get(o.name); return m ? `${fmtDuration(Date.now() - m.end)} old` : ""; }],
      ["Project", (o) => o.project],
    ], views, { empty: "No feature views." })),
    section("Services", table([["Name", page], ["Features", (o) => (o.spec.features || []).length], ["Project", (o) => o.project], ["Description", (o) => o.spec.description]], of("service"), { empty: "No feature services." })));
}
