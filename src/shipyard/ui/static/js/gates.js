// Gate results of a promotion, and the alias history of a model.
import { h, table, fmtTime, statusBadge, link } from "./dom.js";
import { seg } from "./api.js";

export function gatesTable(gates, caption = "Gates") {
  return table([
    ["Rule", (g) => h("code", {}, g.rule)],
    ["Result", (g) => statusBadge(g.passed ? "pass" : "fail")],
    ["Detail", (g) => g.detail],
  ], gates || [], { caption, empty: "No gates." });
}

export function historyTable(name, events) {
  return table([
    ["When", (e) => fmtTime(e.created_at)],
    ["Alias", (e) => `@${e.alias}`],
    ["Move", (e) => [e.from_version ? link(`/models/${seg(name)}/${e.from_version}`, `v${e.from_version}`) : "none", " → ",
      e.to_version ? link(`/models/${seg(name)}/${e.to_version}`, `v${e.to_version}`) : "removed"]],
    ["Outcome", (e) => [statusBadge(e.outcome), e.forced ? " forced" : ""]],
    ["By", (e) => e.actor],
    ["Reason", (e) => e.reason],
    ["Gates", (e) => (e.gates || []).map((g) => h("div", {}, g.passed ? "✔ " : "✘ ", h("code", {}, g.rule)))],
  ], events, { empty: "No alias has been set yet." });
}
