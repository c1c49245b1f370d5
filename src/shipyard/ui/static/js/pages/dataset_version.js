// One dataset version: schema, profile, and its difference from another version (schema and
// profile compared column by column; the rows themselves stay on the server).
import { api, seg } from "../api.js";
import { navigate } from "../app.js";
import { h, link, table, section, fmtTime, fmtBytes, fmtValue, pageHeader, errorBox } from "../dom.js";

const STATS = ["count", "nulls", "distinct", "min", "max", "mean", "std"];

export async function render(params, query) {
  const base = `/datasets/${seg(params.name)}`;
  const [v, { versions }] = await Promise.all([api(`${base}/versions/${seg(params.version)}`), api(`${base}/versions`)]);
  const profile = v.profile || {};
  const others = versions.filter((o) => o.version !== v.version).sort((a, b) => b.version - a.version);
  const against = query.get("diff");
  const pick = h("select", { id: "diff-version" }, others.map((o) => h("option", { value: o.version, selected: String(o.version) === against }, `@${o.version}`)));
  const diffForm = others.length
    ? h("form", { class: "form-row", onsubmit: (e) => { e.preventDefault(); navigate(`${base}/${v.version}?diff=${pick.value}`); } },
      h("label", { for: "diff-version" }, "Compare with"), pick, h("button", { type: "submit" }, "Diff"))
    : h("p", { class: "muted" }, "This is the only version.");

  let diff = null;
  if (against) {
    try {
      diff = diffTable(await api(`${base}/versions/${seg(against)}`), v);
    } catch (error) {
      diff = errorBox(error);
    }
  }
  return h("div", {},
    pageHeader(`${v.dataset}@${v.version}`),
    v.description ? h("p", {}, v.description) : null,
    table([["Field", ([k]) => k], ["Value", ([, x]) => x]], [
      ["Dataset", link(base, v.dataset)],
      ["Rows", v.num_rows], ["Size", fmtBytes(v.size)], ["Created", fmtTime(v.created_at)],
      ["Source", v.source], ["Content hash", h("code", {}, v.content_hash)],
      ["Lineage", link(`/lineage?node=dataset_version:${seg(v.id)}`, "walk this version's lineage")],
    ], { caption: "Summary" }),
    section("Difference", diffForm, diff),
    section("Schema and profile", table([
      ["Column", (c) => c.name], ["Type", (c) => c.type], ["Nullable", (c) => (c.nullable ? "yes" : "no")],
      ...STATS.map((s) => [s, (c) => fmtValue((profile[c.name] || {})[s])]),
    ], v.schema || [], { empty: "No schema recorded." })));
}

function diffTable(old, now) {
  const before = new Map((old.schema || []).map((c) => [c.name, c]));
  const after = new Map((now.schema || []).map((c) => [c.name, c]));
  const names = [...new Set([...before.keys(), ...after.keys()])];
  const rows = names.map((name) => {
    const a = before.get(name);
    const b = after.get(name);
    const pa = (old.profile || {})[name] || {};
    const pb = (now.profile || {})[name] || {};
    const change = !a ? "added" : !b ? "removed" : a.type !== b.type ? `type ${a.type} → ${b.type}` : "";
    const moved = ["mean", "nulls", "distinct"].filter((s) => pa[s] !== pb[s] && pa[s] !== undefined)
      .map((s) => `${s} ${fmtValue(pa[s])} → ${fmtValue(pb[s])}`).join("; ");
    return { name, change, moved };
  });
  return h("div", {},
    h("p", {}, `@${old.version} → @${now.version}: rows ${old.num_rows} → ${now.num_rows}; content ${old.content_hash === now.content_hash ? "identical" : "changed"}.`),
    table([["Column", (r) => r.name], ["Schema", (r) => r.change || "same"], ["Profile", (r) => r.moved || "same"]],
      rows.filter((r) => r.change || r.moved), { caption: "Changed columns", empty: "No column changed in schema or profile." }));
}
