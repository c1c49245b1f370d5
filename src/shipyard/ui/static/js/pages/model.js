// A registered model: versions, aliases, promotion history, and promoting through the gates
// (the server decides: a viewer's attempt shows the server's refusal).
import { api, seg } from "../api.js";
import { h, link, table, section, fmtTime, fmtValue, pageHeader, errorBox } from "../dom.js";
import { gatesTable, historyTable } from "../gates.js";

export async function render(params) {
  const name = params.name;
  const [model, { versions }, { events }] = await Promise.all([
    api(`/models/${seg(name)}`), api(`/models/${seg(name)}/versions`), api(`/models/${seg(name)}/alias-events`),
  ]);
  const metricKeys = [...new Set(versions.flatMap((v) => Object.keys(v.metrics || {})))].sort().slice(0, 6);
  const versionTable = table([
    ["Version", (v) => link(`/models/${seg(name)}/${v.version}`, `v${v.version}`)],
    ["Aliases", (v) => (v.aliases || []).map((a) => h("span", { class: "badge" }, `@${a}`))],
    ["Flavor", (v) => v.flavor],
    ["Created", (v) => fmtTime(v.created_at)],
    ["By", (v) => v.created_by],
    ["Run", (v) => v.run_id ? link(`/runs/${seg(v.run_id)}`, v.run_id.slice(0, 12)) : ""],
    ...metricKeys.map((k) => [k, (v) => fmtValue((v.metrics || {})[k])]),
  ], [...versions].sort((a, b) => b.version - a.version), { caption: "Versions" });

  return h("div", {},
    pageHeader(`Model ${model.name}`, h("span", { class: "muted" }, `project ${model.project}`)),
    model.description ? h("p", {}, model.description) : null,
    versionTable,
    promoteForm(name, versions),
    section("Promotion history", historyTable(name, events)));
}

function promoteForm(name, versions) {
  const result = h("div", { id: "promote-result", "aria-live": "polite" });
  const version = h("select", { id: "promote-version", required: true },
    [...versions].sort((a, b) => b.version - a.version).map((v) => h("option", { value: v.version }, `v${v.version}`)));
  const alias = h("input", { id: "promote-alias", value: "champion", required: true, pattern: "[A-Za-z0-9_.\\-]+" });
  const requires = h("textarea", { id: "promote-requires", rows: 3, cols: 60, placeholder: "metrics.val_auc > 0.9\nmetrics.val_auc >= champion.metrics.val_auc" });
  const reason = h("input", { id: "promote-reason", size: 50 });

  async function submit(dryRun) {
    result.replaceChildren(h("p", { class: "muted" }, dryRun ? "Checking the gates…" : "Promoting…"));
    try {
      const event = await api(`/models/${seg(name)}/aliases/${seg(alias.value.trim())}`, { method: "PUT", body: {
        version: Number(version.value),
        requires: requires.value.split("\n").map((l) => l.trim()).filter(Boolean),
        reason: reason.value,
        dry_run: dryRun,
      } });
      const verdict = event.outcome === "rejected"
        ? h("p", { class: "error", role: "alert" }, `Rejected: v${version.value} did not pass the gates; @${alias.value} stays where it was.`)
        : h("p", { class: "ok" }, dryRun ? `Dry run: v${version.value} would be promoted to @${alias.value}.` : `@${alias.value} now points at v${event.to_version}.`);
      result.replaceChildren(verdict, gatesTable(event.gates, "Gate results"));
      if (!dryRun && event.outcome !== "rejected") setTimeout(() => window.dispatchEvent(new PopStateEvent("popstate")), 800);
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  }

  return section("Promote",
    h("form", { id: "promote", onsubmit: (e) => { e.preventDefault(); submit(false); } },
      h("div", { class: "form-row" },
        h("label", { for: "promote-version" }, "Version"), version,
        h("label", { for: "promote-alias" }, "to alias"), alias),
      h("div", { class: "form-row" }, h("label", { for: "promote-requires" }, "Gates (one rule a line)"), requires),
      h("div", { class: "form-row" }, h("label", { for: "promote-reason" }, "Reason"), reason),
      h("div", { class: "form-row" },
        h("button", { type: "button", class: "secondary", onclick: () => submit(true) }, "Check gates (dry run)"),
        h("button", { type: "submit", id: "promote-submit" }, "Promote"))),
    result);
}
