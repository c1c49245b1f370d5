// The lineage graph from any node, upstream, downstream or both, to a chosen depth. Click
// a node for its page, or to walk from it. A prediction id (kind "prediction") starts from
// what answered it in the prediction log (its deployment, else its model version).
import { api, seg } from "../api.js";
import { navigate } from "../app.js";
import { drawGraph } from "../graph.js";
import { describe } from "../nodes.js";
import { h, link, table, pageHeader, errorBox, fmtTime } from "../dom.js";

const KINDS = ["run", "model_version", "dataset_version", "pipeline_run", "step_run", "feature_view", "deployment", "monitor_run", "alias_event", "prediction"];

export async function render(_params, query) {
  const node = query.get("node") || "";
  const direction = query.get("direction") || "both";
  const depth = query.get("depth") || "4";
  const [kind, ...rest] = node.split(":");
  const id = rest.join(":");

  const kindSelect = h("select", { id: "node-kind" }, KINDS.map((k) => h("option", { value: k, selected: k === kind }, k)));
  const idInput = h("input", { id: "node-id", value: id, size: 36, required: true, spellcheck: "false" });
  const dirSelect = h("select", { id: "direction" }, [["both", "both"], ["up", "upstream"], ["down", "downstream"]].map(([v, t]) => h("option", { value: v, selected: v === direction }, t)));
  const depthInput = h("input", { id: "depth", type: "number", min: "1", max: "20", value: depth, size: 3 });
  const form = h("form", { class: "form-row", onsubmit: (e) => {
    e.preventDefault();
    navigate(`/lineage?node=${seg(kindSelect.value)}:${seg(idInput.value.trim())}&direction=${dirSelect.value}&depth=${depthInput.value}`);
  } },
  h("label", { for: "node-kind" }, "Node"), kindSelect, h("label", { for: "node-id", class: "sr-only" }, "Node id"), idInput,
  h("label", { for: "direction" }, "Direction"), dirSelect,
  h("label", { for: "depth" }, "Depth"), depthInput,
  h("button", { type: "submit" }, "Walk"));

  const page = h("div", {}, pageHeader("Lineage"), form);
  if (!node || !id) {
    page.append(h("p", { class: "muted" }, "Pick a node: a run, a model version, a dataset version… (the run, model and dataset pages link here)."));
    return page;
  }
  const directions = direction === "both" ? ["up", "down"] : [direction];
  let edges;
  let start = { kind, id };
  const answered = [];
  try {
    if (kind === "prediction") {
      const found = await api(`/predictions/${seg(id)}`);
      start = found.node;
      answered.push({ src: start, dst: { kind, id }, relation: "answered" });
      page.append(await predictionSummary(found));
    }
    const answers = await Promise.all(directions.map((d) => api(`/lineage?kind=${seg(start.kind)}&id=${seg(start.id)}&direction=${d}&max_depth=${seg(depth)}`)));
    const seen = new Set();
    edges = [...answered, ...answers.flatMap((a) => a.edges)].filter((e) => {
      const key = `${e.src.kind}:${e.src.id}>${e.dst.kind}:${e.dst.id}:${e.relation}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  } catch (error) {
    page.append(errorBox(error));
    return page;
  }
  const ids = new Map([[`${kind}:${id}`, { kind, id }]]);
  for (const e of edges) {
    ids.set(`${e.src.kind}:${e.src.id}`, e.src);
    ids.set(`${e.dst.kind}:${e.dst.id}`, e.dst);
  }
  const described = new Map(await Promise.all([...ids].slice(0, 200).map(async ([key, n]) => [key, await describe(n.kind, n.id)])));
  const label = (key) => (described.get(key) || { label: key }).label;
  const href = (key) => (described.get(key) || {}).href;

  const detail = h("div", { id: "node-detail", "aria-live": "polite" });
  const container = h("div", { id: "graph", role: "img", "aria-label": `Lineage graph of ${label(`${kind}:${id}`)}: ${ids.size} nodes, ${edges.length} edges (listed in the table below)` });
  const select = (data) => {
    const target = href(data.id);
    detail.replaceChildren(h("p", {}, h("strong", {}, data.label), " ",
      target ? link(target, "open") : null, " · ",
      link(`/lineage?node=${seg(data.kind)}:${seg(data.nodeId)}&direction=${direction}&depth=${depth}`, "walk from here")));
  };
  page.append(
    h("p", { class: "muted" }, `${label(`${kind}:${id}`)}: ${ids.size} node(s), ${edges.length} edge(s). Arrows point from input to output.`),
    container, detail,
    h("h2", {}, "Edges"),
    table([
      ["From", (e) => nodeLink(`${e.src.kind}:${e.src.id}`, label, href)],
      ["Relation", (e) => e.relation],
      ["To", (e) => nodeLink(`${e.dst.kind}:${e.dst.id}`, label, href)],
    ], edges, { empty: "No lineage recorded for this node." }));
  requestAnimationFrame(() => drawGraph(container,
    [...ids].map(([key, n]) => ({ id: key, nodeId: n.id, kind: n.kind, label: label(key), root: key === `${kind}:${id}` })),
    edges.map((e) => ({ source: `${e.src.kind}:${e.src.id}`, target: `${e.dst.kind}:${e.dst.id}`, label: e.relation })),
    { onSelect: select }));
  return page;
}

// Who answered a prediction (from the prediction log), and the commit its training run
// recorded.
async function predictionSummary(found) {
  const version = link(`/models/${seg(found.model)}/${found.version}`, `${found.model}/${found.version}`);
  const run = found.run_id ? await api(`/runs/${seg(found.run_id)}`).catch(() => null) : null;
  const commit = run && run.tags["shipyard.git.commit"];
  return h("p", { id: "prediction-summary" }, "Prediction ", h("code", {}, found.prediction_id), " was answered by model ", version,
    ` (${found.role}${found.alias ? `, @${found.alias}` : ""}) at ${fmtTime(found.ts)}`,
    found.deployment ? ` through deployment ${found.deployment}` : "",
    run ? [", trained by run ", link(`/runs/${seg(run.id)}`, run.name || run.id), commit ? [" at commit ", h("code", {}, commit)] : " (no commit recorded)"] : "", ".");
}

function nodeLink(key, label, href) {
  const target = href(key);
  return target ? link(target, label(key)) : label(key);
}
