// One model version: signature, safe-format manifest, requirements, metrics, tags, its run
// and lineage.
import { api, seg } from "../api.js";
import { h, link, table, kvTable, section, fmtTime, fmtBytes, pageHeader } from "../dom.js";

export async function render(params) {
  const v = await api(`/models/${seg(params.name)}/versions/${seg(params.version)}`);
  const sig = v.signature || {};
  const inputs = (sig.inputs && sig.inputs.columns) || [];
  const outputs = sig.outputs ? [sig.outputs] : [];
  return h("div", {},
    pageHeader(`${v.name} v${v.version}`, (v.aliases || []).map((a) => h("span", { class: "badge" }, `@${a}`))),
    v.description ? h("p", {}, v.description) : null,
    h("div", { class: "grid2" },
      table([["Field", ([k]) => k], ["Value", ([, x]) => x]], [
        ["Model", link(`/models/${seg(v.name)}`, v.name)],
        ["Flavor", v.flavor],
        ["Created", `${fmtTime(v.created_at)} by ${v.created_by}`],
        ["Training run", v.run_id ? link(`/runs/${seg(v.run_id)}`, v.run_id) : "none"],
        ["Python", v.python_version],
        ["Manifest", h("code", {}, v.manifest_digest)],
        ["Lineage", link(`/lineage?node=model_version:${seg(v.id)}`, "walk this version's lineage")],
      ], { caption: "Summary" }),
      kvTable(v.metrics, { caption: "Metrics" })),
    section("Signature",
      table([["Input", (c) => c.name], ["Type", (c) => c.type], ["Nullable", (c) => (c.nullable ? "yes" : "no")]], inputs, { caption: "Inputs", empty: "No input signature." }),
      table([["Output", (o) => o.type], ["Detail", (o) => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => k !== "type")))]], outputs, { caption: "Outputs", empty: "No output signature." })),
    section("Safe-format manifest",
      kvTable(v.metadata, { caption: "Metadata" }),
      table([["File", (f) => h("code", {}, f.path)], ["Size", (f) => fmtBytes(f.size)], ["sha256", (f) => h("code", {}, (f.digest || f.sha256 || "").slice(0, 16))]], v.files || [], { caption: "Files" })),
    section("Requirements", h("pre", {}, (v.requirements || []).join("\n") || "none")),
    section("Tags", kvTable(v.tags)));
}
